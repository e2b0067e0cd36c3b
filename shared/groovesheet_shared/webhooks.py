"""Webhooks: which callback URLs are allowed, the signed body, and one delivery.

The API checks a ``callback_url`` at upload; the worker checks it again when it delivers, after DNS
resolution, and connects to the address it checked (so a name that resolves elsewhere a moment
later cannot redirect the request to a private address).

The body is the job's status as JSON plus ``sent_at`` (Unix seconds), which is also sent as
``X-Groovesheet-Timestamp``. ``X-Groovesheet-Signature: sha256=<hex>`` is HMAC-SHA256 of the raw
body with ``WEBHOOK_SECRET``: since the timestamp is inside the signed body, a receiver that checks
the signature, that both timestamps agree and that ``sent_at`` is recent refuses a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from groovesheet_shared.errors import GroovesheetError
from groovesheet_shared.jobs import Job, JobStatus

SIGNATURE_HEADER = "X-Groovesheet-Signature"
TIMESTAMP_HEADER = "X-Groovesheet-Timestamp"
EVENT_HEADER = "X-Groovesheet-Event"
CALLBACK_URL_MAX_CHARS = 2048
DELIVERY_TIMEOUT_SECONDS = 10.0


class CallbackUrlRefused(GroovesheetError):
    code = "invalid_callback_url"


def check_callback_url(url: str, *, allow_private: bool) -> str:
    """The URL if it may be called back, else CallbackUrlRefused saying why (no DNS lookup here)."""
    if len(url) > CALLBACK_URL_MAX_CHARS:
        raise CallbackUrlRefused(f"The callback_url is longer than {CALLBACK_URL_MAX_CHARS} characters.")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise CallbackUrlRefused("The callback_url contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackUrlRefused("The callback_url is not a valid URL.") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        raise CallbackUrlRefused(
            "The callback_url must start with https:// (webhooks are only sent over HTTPS)."
        )
    if not parts.hostname:
        raise CallbackUrlRefused("The callback_url has no host name.")
    if parts.username is not None or parts.password is not None:
        raise CallbackUrlRefused("The callback_url must not contain a user name or password.")
    if port == 0:
        raise CallbackUrlRefused("The callback_url has port 0.")
    literal = _ip_literal(parts.hostname)
    if literal is not None and not allow_private:
        _require_public(literal, parts.hostname)
    return url


def resolve_callback(url: str, *, allow_private: bool) -> list[str]:
    """The addresses the URL's host resolves to, all of them public unless ``allow_private``.

    Every address must be public: a name with one private address among public ones is refused.
    """
    check_callback_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackUrlRefused(f"The callback_url's host {host} could not be resolved ({exc}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise CallbackUrlRefused(f"The callback_url's host {host} has no address.")
    if not allow_private:
        for address in addresses:
            _require_public(ipaddress.ip_address(address.split("%")[0]), host)
    return addresses


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _require_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> None:
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if not address.is_global or address.is_multicast:
        raise CallbackUrlRefused(
            f"The callback_url's host {host} is a private, loopback or link-local address ({address}); "
            "webhooks are only sent to public addresses."
        )


def webhook_body(job: Job, sent_at: int) -> bytes:
    """The job's status as the owner sees it, plus ``sent_at``: the exact bytes that are signed."""
    body: dict[str, Any] = job.model_dump(mode="json", exclude={"worker", "input_name", "callback_url"})
    body["status_url"] = f"/api/v1/status/{job.job_id}"
    completed = job.status is JobStatus.COMPLETED
    body["download_url"] = f"/api/v1/download/{job.job_id}" if completed else None
    body["sent_at"] = sent_at
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does (constant-time comparison); used by the tests and given as the example."""
    return hmac.compare_digest(sign(secret, body), signature)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand, with SNI and the certificate checked for the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def deliver(
    url: str,
    body: bytes,
    secret: str,
    sent_at: int,
    event: str,
    *,
    allow_private: bool,
    timeout: float = DELIVERY_TIMEOUT_SECONDS,
) -> int:
    """One POST of ``body`` to ``url``, connected to an address that was just checked; the HTTP status.

    Raises CallbackUrlRefused when the URL or what its host resolves to is not allowed, and OSError
    (or http.client.HTTPException) when the request fails. Redirects are not followed.
    """
    address = resolve_callback(url, allow_private=allow_private)[0]
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(host, address, port, timeout)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json",
        "User-Agent": "Groovesheet-Webhook/1",
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_HEADER: str(sent_at),
        EVENT_HEADER: event,
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    finally:
        connection.close()
