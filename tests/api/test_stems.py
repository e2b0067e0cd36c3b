"""GET /api/v1/download/{id}?format=drums|no_drums: real MP3 stems, whole or by HTTP Range, and why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from groovesheet_api.routes import jobs as job_routes
from groovesheet_shared.jobs import STEMS_EXPIRED, Stems
from groovesheet_shared.storage import LocalJobStore
from groovesheet_worker.pipeline.stems import DRUMS_ONLY, ENCODING_FAILED
from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.api.test_jobs import OUTPUTS, upload
from tests.audio_samples import song_bytes
from tests.stem_samples import STEM_FILES, encode_stems, result_with


@pytest.fixture(scope="module")
def stem_files(tmp_path_factory) -> dict[str, Path]:
    return encode_stems(tmp_path_factory.mktemp("stems"))


def finish(jobs_dir: Path, job_id: str, tmp_path: Path, stems: Stems | None, files: dict[str, Path]) -> None:
    """The job completed as the worker leaves it: the outputs, the stems it made, then the record."""
    store = LocalJobStore(jobs_dir)
    for name, data in OUTPUTS.items():
        (tmp_path / name).write_bytes(data)
        store.save_output(job_id, name, tmp_path / name)
    for name, path in files.items():
        store.save_output(job_id, name, path)
    store.update(job_id, lambda j: j.started("w").completed(result_with(stems)))


@pytest.fixture
def job_with_stems(client, jobs_dir, tmp_path, stem_files) -> str:
    job_id = upload(client, "Moby Dick.mp3")
    finish(jobs_dir, job_id, tmp_path, Stems(available=True), stem_files)
    return job_id


def url(job_id: str, kind: str) -> str:
    return f"/api/v1/download/{job_id}?format={kind}"


@pytest.mark.parametrize("kind", ["drums", "no_drums"])
def test_whole_stem_is_the_mp3_with_accept_ranges(client, job_with_stems, stem_files, kind):
    data = stem_files[STEM_FILES[kind]].read_bytes()
    response = client.get(url(job_with_stems, kind))

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(data)
    assert f'filename="Moby Dick_{kind}.mp3"' in response.headers["content-disposition"]
    assert response.headers["etag"].startswith('"')
    assert "content-range" not in response.headers


def test_status_and_history_list_the_stems(client, job_with_stems):
    body = client.get(f"/api/v1/status/{job_with_stems}").json()
    assert body["downloads"]["drums"] == url(job_with_stems, "drums")
    assert body["downloads"]["no_drums"] == url(job_with_stems, "no_drums")
    assert body["result"]["stems"] == {"available": True, "code": None, "reason": None}
    entry = client.get("/api/v1/jobs").json()["jobs"][0]
    assert set(entry["downloads"]) >= {"drums", "no_drums", "musicxml", "pdf"}


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, None),  # to the end: where a player seeks to
        ("bytes=-500", -500, None),  # the last 500 bytes
        ("bytes=10-10", 10, 10),
        ("bytes=100-99999999", 100, None),  # an end past the file is its last byte
        ("BYTES = 5-9", 5, 9),
    ],
)
def test_one_range_is_206_with_content_range(client, job_with_stems, stem_files, header, first, last):
    data = stem_files[STEM_FILES["no_drums"]].read_bytes()
    size = len(data)
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    response = client.get(url(job_with_stems, "no_drums"), headers={"Range": header})

    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert int(response.headers["content-length"]) == end - start + 1
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "audio/mpeg"


def test_ranges_stream_in_chunks_and_join_up(client, job_with_stems, stem_files, monkeypatch):
    monkeypatch.setattr(job_routes, "STEM_CHUNK_BYTES", 7001)  # many ranged reads per response
    data = stem_files[STEM_FILES["drums"]].read_bytes()
    third = len(data) // 3
    parts = [
        client.get(url(job_with_stems, "drums"), headers={"Range": spec}).content
        for spec in (f"bytes=0-{third - 1}", f"bytes={third}-{2 * third - 1}", f"bytes={2 * third}-")
    ]
    assert b"".join(parts) == data
    assert client.get(url(job_with_stems, "drums")).content == data


@pytest.mark.parametrize(
    "header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=abc", "bytes=9-5", "bytes=-"]
)
def test_unsatisfiable_or_malformed_range_is_416(client, job_with_stems, stem_files, header):
    size = stem_files[STEM_FILES["drums"]].stat().st_size
    response = client.get(url(job_with_stems, "drums"), headers={"Range": header.format(size=size)})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    error = response.json()["error"]
    assert error["code"] == "range_not_satisfiable"
    assert f"{size} bytes" in error["message"] and f"bytes=0-{size - 1}" in error["message"]


@pytest.mark.parametrize("header", ["items=0-10", "bytes=0-10, 20-30"])
def test_other_units_and_several_ranges_get_the_whole_file(client, job_with_stems, stem_files, header):
    response = client.get(url(job_with_stems, "drums"), headers={"Range": header})
    assert response.status_code == 200
    assert response.content == stem_files[STEM_FILES["drums"]].read_bytes()


def test_if_range_continues_only_the_same_version(client, job_with_stems, stem_files):
    etag = client.head(url(job_with_stems, "drums")).headers["etag"]
    same = client.get(url(job_with_stems, "drums"), headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and len(same.content) == 10
    other = client.get(url(job_with_stems, "drums"), headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert other.status_code == 200
    assert other.content == stem_files[STEM_FILES["drums"]].read_bytes()


def test_head_answers_the_range_headers_without_a_body(client, job_with_stems, stem_files):
    size = stem_files[STEM_FILES["drums"]].stat().st_size
    response = client.head(url(job_with_stems, "drums"), headers={"Range": "bytes=100-"})
    assert response.status_code == 206
    assert response.content == b""
    assert response.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert int(response.headers["content-length"]) == size - 100


@pytest.mark.parametrize(
    ("stems", "says"),
    [
        (DRUMS_ONLY, "drum-only recording"),
        (ENCODING_FAILED, "could not be encoded"),
        (None, "before Groovesheet made stems"),
    ],
)
def test_a_job_without_stems_answers_a_404_saying_why(client, jobs_dir, tmp_path, stems, says):
    job_id = upload(client, "Solo.wav")
    finish(jobs_dir, job_id, tmp_path, stems, {})
    for kind in ("drums", "no_drums"):
        response = client.get(url(job_id, kind), headers={"Range": "bytes=0-"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "stems_unavailable"
        assert says in error["message"]
    body = client.get(f"/api/v1/status/{job_id}").json()
    assert "drums" not in body["downloads"] and "no_drums" not in body["downloads"]
    assert "musicxml" in body["downloads"]
    if stems is not None:
        assert body["result"]["stems"]["available"] is False
        assert body["result"]["stems"]["code"] == stems.code


def test_stems_removed_after_the_retention_say_so(client, jobs_dir, job_with_stems):
    folder = jobs_dir / "jobs" / job_with_stems
    for name in STEM_FILES.values():
        (folder / name).unlink()  # what the bucket's lifecycle rule does on GCS
    response = client.get(url(job_with_stems, "drums"))
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "stems_unavailable", "message": STEMS_EXPIRED}


def test_stems_of_an_unfinished_job_are_409(client):
    job_id = upload(client)
    response = client.get(url(job_id, "drums"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_ready"


def test_only_the_owner_gets_the_stems(make_client, jobs_dir, tmp_path, stem_files):
    client = make_client(auth_mode="hs256", jwt_secret=SECRET)
    alice, bob = bearer(hs256_token("alice")), bearer(hs256_token("bob"))
    created = client.post("/api/v1/transcribe", files={"file": ("a.mp3", song_bytes("MP3"))}, headers=alice)
    job_id = created.json()["job_id"]
    finish(jobs_dir, job_id, tmp_path, Stems(available=True), stem_files)

    assert client.get(url(job_id, "drums"), headers={**alice, "Range": "bytes=0-1"}).status_code == 206
    for headers in (bob, {}):
        response = client.get(url(job_id, "drums"), headers={**headers, "Range": "bytes=0-1"})
        assert response.status_code in (404, 401)
        assert "content-range" not in response.headers
    assert client.get(url(job_id, "drums"), headers=bob).json()["error"]["code"] == "job_not_found"


def test_deleting_the_job_removes_the_stems(client, jobs_dir, job_with_stems):
    folder = jobs_dir / "jobs" / job_with_stems
    assert all((folder / name).is_file() for name in STEM_FILES.values())
    assert client.delete(f"/api/v1/jobs/{job_with_stems}").status_code == 204
    assert not folder.exists()
    assert client.get(url(job_with_stems, "drums")).status_code == 404


def test_stems_are_documented(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/download/{job_id}"]["get"]
    assert {"206", "416"} <= set(operation["responses"])
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert "Range" in parameters and "If-Range" in parameters
    assert {"drums", "no_drums"} <= set(spec["components"]["schemas"]["DownloadFormat"]["enum"])
    assert "no_drums" in parameters["format"]["description"]
    assert "Stems" in spec["components"]["schemas"]
    assert "stems_unavailable" in operation["description"] and "Range" in operation["description"]
