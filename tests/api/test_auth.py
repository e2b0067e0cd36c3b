"""Authentication in the three modes, and that users only ever see their own jobs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.audio_samples import song_bytes

SECRET = "test-secret-that-is-long-enough-for-hs256"
ISSUER = "https://clerk.groovesheet.test"
AUDIENCE = "groovesheet-api"


def hs256_token(sub: str = "user_a", secret: str = SECRET, **claims: object) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_song(client, headers: dict[str, str]):
    return client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))}, headers=headers)


def test_no_auth_mode_records_anonymous_owner(client):
    response = post_song(client, {})
    assert response.status_code == 202
    assert client.get(response.json()["status_url"]).json()["owner"] == "anonymous"


class TestSharedSecret:
    @pytest.fixture
    def client(self, make_client):
        return make_client(auth_mode="hs256", jwt_secret=SECRET)

    def test_missing_token_is_401(self, client, jobs_dir):
        response = post_song(client, {})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
        assert not (jobs_dir / "jobs").exists() or not any((jobs_dir / "jobs").iterdir())

    @pytest.mark.parametrize(
        "headers",
        [
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer not-a-jwt"},
            bearer(hs256_token(secret="another-secret-that-is-long-enough!!")),
            bearer(hs256_token(exp=int(time.time()) - 3600)),
            bearer(jwt.encode({"exp": int(time.time()) + 600}, SECRET, algorithm="HS256")),  # no sub
            bearer(jwt.encode({"sub": "u"}, SECRET, algorithm="HS256")),  # no expiry
        ],
        ids=["basic", "garbage", "wrong-secret", "expired", "no-sub", "no-exp"],
    )
    def test_bad_tokens_are_401(self, client, headers):
        response = post_song(client, headers)
        assert response.status_code == 401
        assert response.json()["error"]["message"]

    def test_owner_sees_job_and_others_get_404(self, client):
        created = post_song(client, bearer(hs256_token("user_a")))
        assert created.status_code == 202
        job_id = created.json()["job_id"]

        mine = client.get(f"/api/v1/status/{job_id}", headers=bearer(hs256_token("user_a")))
        assert mine.status_code == 200
        assert mine.json()["owner"] == "user_a"

        for path in (f"/api/v1/status/{job_id}", f"/api/v1/jobs/{job_id}", f"/api/v1/download/{job_id}"):
            theirs = client.get(path, headers=bearer(hs256_token("user_b")))
            assert theirs.status_code == 404
            assert theirs.json()["error"]["code"] == "job_not_found"

        assert client.get(f"/api/v1/status/{job_id}").status_code == 401

    def test_health_needs_no_token(self, client):
        assert client.get("/health").status_code == 200


class _JwksServer:
    def __init__(self, jwks: dict) -> None:
        self.jwks = jwks
        self.requests = 0
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.requests += 1
                data = json.dumps(server_self.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private_key, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class TestJwks:
    @pytest.fixture(scope="class")
    def signing_key(self):
        return _rsa_key()

    @pytest.fixture
    def jwks_server(self, signing_key) -> Iterator[_JwksServer]:
        server = _JwksServer({"keys": [_jwk(signing_key, "key-1")]})
        yield server
        server.close()

    @pytest.fixture
    def client(self, make_client, jwks_server):
        return make_client(
            auth_mode="jwks", jwks_url=jwks_server.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
        )

    def token(self, key, sub: str = "user_clerk_1", kid: str = "key-1", **claims: object) -> str:
        payload = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600, **claims}
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    def test_valid_token_is_accepted_and_keys_are_cached(self, client, signing_key, jwks_server):
        for _ in range(3):
            response = post_song(client, bearer(self.token(signing_key)))
            assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        status = client.get(f"/api/v1/status/{job_id}", headers=bearer(self.token(signing_key)))
        assert status.json()["owner"] == "user_clerk_1"
        assert jwks_server.requests == 1

    @pytest.mark.parametrize(
        "claims",
        [{"iss": "https://evil.test"}, {"aud": "someone-else"}, {"exp": int(time.time()) - 600}],
        ids=["wrong-issuer", "wrong-audience", "expired"],
    )
    def test_claims_are_checked(self, client, signing_key, claims):
        response = post_song(client, bearer(self.token(signing_key, **claims)))
        assert response.status_code == 401

    def test_token_from_unknown_key_is_401(self, client):
        response = post_song(client, bearer(self.token(_rsa_key(), kid="key-1")))
        assert response.status_code == 401

    def test_hs256_token_is_not_accepted_in_jwks_mode(self, client):
        forged = jwt.encode(
            {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            "secret-secret-secret-secret-secret!",
            algorithm="HS256",
            headers={"kid": "key-1"},
        )
        assert post_song(client, bearer(forged)).status_code == 401

    def test_other_users_job_is_404(self, client, signing_key):
        job_id = post_song(client, bearer(self.token(signing_key, sub="alice"))).json()["job_id"]
        response = client.get(f"/api/v1/status/{job_id}", headers=bearer(self.token(signing_key, sub="bob")))
        assert response.status_code == 404


def test_incomplete_auth_settings_refuse_to_start(make_client):
    with pytest.raises(ValueError, match="JWT_SECRET"):
        make_client(auth_mode="hs256")
    with pytest.raises(ValueError, match="JWKS_URL"):
        make_client(auth_mode="jwks")


class TestAuthDecisions:
    """The decided auth points (README, Configuration): each refused with a message that says why."""

    @pytest.fixture
    def client(self, make_client):
        return make_client(auth_mode="hs256", jwt_secret=SECRET)

    def test_two_authorization_headers_are_refused_not_picked_from(self, client):
        good, other = hs256_token("alice"), hs256_token("mallory")
        response = client.post(
            "/api/v1/transcribe",
            files={"file": ("a.wav", song_bytes("WAV"))},
            headers=[("Authorization", f"Bearer {good}"), ("Authorization", f"Bearer {other}")],
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_authorization" and "exactly one" in error["message"]

    def test_a_token_valid_for_ten_years_is_refused(self, client):
        now = int(time.time())
        response = post_song(client, bearer(hs256_token(iat=now, exp=now + 10 * 365 * 86400)))
        assert response.status_code == 401
        assert "too long" in response.json()["error"]["message"]

    def test_a_long_lived_token_without_iat_is_refused_too(self, client):
        response = post_song(client, bearer(hs256_token(exp=int(time.time()) + 30 * 86400)))
        assert response.status_code == 401

    def test_a_day_long_token_is_fine(self, client):
        now = int(time.time())
        assert post_song(client, bearer(hs256_token(iat=now, exp=now + 86400))).status_code == 202

    def test_the_lifetime_limit_is_a_setting(self, make_client):
        client = make_client(auth_mode="hs256", jwt_secret=SECRET, jwt_max_lifetime_seconds=300)
        assert post_song(client, bearer(hs256_token())).status_code == 401  # 600 s token
        assert post_song(client, bearer(hs256_token(exp=int(time.time()) + 240))).status_code == 202

    def test_hs256_token_naming_an_audience_needs_jwt_audience(self, client, make_client):
        response = post_song(client, bearer(hs256_token(aud="groovesheet-api")))
        assert response.status_code == 401
        assert "JWT_AUDIENCE is not set" in response.json()["error"]["message"]
        with_audience = make_client(auth_mode="hs256", jwt_secret=SECRET, jwt_audience="groovesheet-api")
        assert post_song(with_audience, bearer(hs256_token(aud="groovesheet-api"))).status_code == 202
        assert post_song(with_audience, bearer(hs256_token(aud="other-app"))).status_code == 401
        assert post_song(with_audience, bearer(hs256_token())).status_code == 401  # aud required then

    def test_hs256_issuer_is_checked_when_set(self, make_client):
        client = make_client(auth_mode="hs256", jwt_secret=SECRET, jwt_issuer=ISSUER)
        assert post_song(client, bearer(hs256_token(iss=ISSUER))).status_code == 202
        assert post_song(client, bearer(hs256_token(iss="https://evil.test"))).status_code == 401


@pytest.mark.parametrize("secret", ["x", "short-secret", "a" * 31])
def test_a_short_hs256_secret_stops_the_api_from_starting(make_client, secret):
    with pytest.raises(ValueError, match="at least 32"):
        make_client(auth_mode="hs256", jwt_secret=secret)
