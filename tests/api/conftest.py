from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from groovesheet_api.config import ApiSettings
from groovesheet_api.decoding import Decoder
from groovesheet_api.main import create_app

MakeClient = Callable[..., TestClient]


@pytest.fixture
def jobs_dir(tmp_path: Path) -> Path:
    return tmp_path / "jobs-root"


@pytest.fixture(scope="session")
def decoder() -> Iterator[Decoder]:
    """One pool of decoding processes for all test apps (starting them takes a moment each)."""
    shared = Decoder(2)
    yield shared
    shared.close()


@pytest.fixture
def make_client(jobs_dir: Path, decoder: Decoder) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = ApiSettings(local_jobs_dir=jobs_dir, log_format="text", **overrides)  # type: ignore[arg-type]
        app = create_app(settings)
        app.state.decoder = decoder
        client = TestClient(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def stored_jobs(jobs_dir: Path) -> list[Path]:
    folder = jobs_dir / "jobs"
    return sorted(folder.iterdir()) if folder.exists() else []


def queued_messages(jobs_dir: Path) -> list[Path]:
    folder = jobs_dir / "queue" / "pending"
    return sorted(folder.glob("*.json")) if folder.exists() else []
