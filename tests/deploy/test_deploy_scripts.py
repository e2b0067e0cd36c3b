"""The gcloud deploy scripts, run against fake `gcloud`, `docker` and `curl` that record their arguments.

The fakes make `describe` fail (so the creation paths run) or succeed (FAKE_EXISTING=1, the re-run: nothing
is created twice). Checked: names, the seeds' critical flags, env vars the services really read, DRY_RUN=1,
a missing project, secrets never on a command line, and shellcheck.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from groovesheet_shared.outputs import STEM_FILES
from tests.deploy.test_containers import API_ENV, WORKER_ENV

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "deploy-scripts"
ALL_SCRIPTS = ["setup-infra.sh", "deploy-api.sh", "deploy-worker.sh", "verify.sh"]
SEP = "\x1f"

FAKE_GCLOUD = r"""#!/usr/bin/env bash
(IFS=$'\x1f'; printf '%s\n' "gcloud$IFS$*") >> "$FAKE_LOG"
for arg in "$@"; do
  case $arg in --lifecycle-file=*) cat "${arg#*=}" >> "$FAKE_LOG.files" ;; esac
done
all=" $* "
if [[ -n ${FAKE_FAIL:-} && $all == *"$FAKE_FAIL"* ]]; then echo "ERROR: (gcloud) injected failure" >&2; exit 1; fi
case $all in
  *" projects describe "*) echo 123456789012; exit 0 ;;
  *" auth print-access-token "*) echo fake-access-token-123; exit 0 ;;
  *" logging read "*) echo "2025-01-01T00:00:00Z INFO worker: started"; exit 0 ;;
  *" describe "*)
    if [[ ${FAKE_EXISTING:-0} != 1 ]]; then echo "ERROR: (gcloud) NOT_FOUND: resource not found" >&2; exit 1; fi
    case $all in
      *status.url*) echo "https://${4:-svc}-abc123-uc.a.run.app" ;;
      *minScale*) echo 1 ;;
      *cpu-throttling*) echo false ;;
      *) echo "name: projects/demo/things/thing" ;;
    esac ;;
esac
exit 0
"""

FAKE_OTHER = r"""#!/usr/bin/env bash
(IFS=$'\x1f'; printf '%s\n' "$(basename "$0")$IFS$*") >> "$FAKE_LOG"
if [[ $(basename "$0") == curl ]]; then
  if [[ " $* " == *" -H @- "* ]]; then cat >> "$FAKE_LOG.stdin"; fi
  case " $* " in
    *monitoring.googleapis.com*) echo '{"timeSeries": [{"points": [{"value": {"int64Value": "3"}}]}]}' ;;
    */health*) echo '{"status": "ok"}' ;;
  esac
fi
exit 0
"""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    calls: list[list[str]]
    files: str
    curl_stdin: str

    def find(self, *prefix: str) -> list[list[str]]:
        return [call for call in self.calls if call[: len(prefix)] == list(prefix)]

    def one(self, *prefix: str) -> list[str]:
        found = self.find(*prefix)
        assert len(found) == 1, f"{prefix}: {found}"
        return found[0]


@pytest.fixture
def run_script(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gcloud").write_text(FAKE_GCLOUD)
    for name in ("docker", "curl"):
        (bin_dir / name).write_text(FAKE_OTHER)
    for fake in bin_dir.iterdir():
        fake.chmod(0o755)
    log = tmp_path / "calls.log"

    def run(script: str, **env: str) -> Result:
        for stale in (log, Path(f"{log}.files"), Path(f"{log}.stdin")):
            stale.unlink(missing_ok=True)
        base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_LOG": str(log)}
        proc = subprocess.run(
            ["bash", str(SCRIPTS / script)],
            env=base | {"IMAGE_TAG": "t1"} | env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        lines = log.read_text().splitlines() if log.exists() else []

        def text(path: str) -> str:
            return Path(path).read_text() if Path(path).exists() else ""

        return Result(
            proc.returncode,
            proc.stdout,
            proc.stderr,
            [line.split(SEP) for line in lines],
            text(f"{log}.files"),
            text(f"{log}.stdin"),
        )

    return run


def flag(call: list[str], name: str) -> str | None:
    """Value of --name=value (or --name value) in a recorded call; '' for a bare --name."""
    for i, arg in enumerate(call):
        if arg == name:
            nxt = call[i + 1] if i + 1 < len(call) else ""
            return "" if nxt.startswith("--") or not nxt else nxt
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def env_vars(call: list[str]) -> dict[str, str]:
    value = flag(call, "--set-env-vars")
    assert value is not None
    sep = ","
    if value.startswith("^"):
        sep, value = value[1], value[3:]
    return dict(pair.split("=", 1) for pair in value.split(sep))


PROJECT = {"PROJECT_ID": "demo-proj"}
API_SA = "groovesheet-api@demo-proj.iam.gserviceaccount.com"
WORKER_SA = "groovesheet-worker@demo-proj.iam.gserviceaccount.com"
AGENT = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (Debian package shellcheck; see .ci/system-deps.sh)")
    scripts = [str(SCRIPTS / name) for name in [*ALL_SCRIPTS, "lib.sh"]]
    result = subprocess.run([shellcheck, "-x", *scripts], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_scripts_are_executable_strict_bash_with_usage(script: str) -> None:
    path = SCRIPTS / script
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n# ")
    assert "Usage:" in text
    assert path.stat().st_mode & 0o111
    assert "set -euo pipefail" in (SCRIPTS / "lib.sh").read_text() and 'source "$(dirname' in text


@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_missing_project_fails_clearly_before_any_command(run_script, script: str) -> None:
    result = run_script(script)
    assert result.returncode != 0
    assert "PROJECT_ID" in result.stderr and "GCP_PROJECT" in result.stderr
    assert result.calls == []


@pytest.mark.parametrize("script", ALL_SCRIPTS)
def test_dry_run_prints_every_command_and_runs_none(run_script, script: str) -> None:
    result = run_script(script, DRY_RUN="1", **PROJECT)
    assert result.returncode == 0, result.stderr
    assert result.calls == [], "DRY_RUN=1 must not run gcloud/docker/curl"
    printed = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert printed and all(line.split()[1] in {"gcloud", "docker", "curl"} for line in printed)
    expected = {
        "setup-infra.sh": "+ gcloud pubsub subscriptions create groovesheet-worker-tasks-sub",
        "deploy-api.sh": "+ gcloud run deploy groovesheet-api",
        "deploy-worker.sh": "+ gcloud run deploy annoteator-worker",
        "verify.sh": "+ gcloud pubsub topics describe groovesheet-worker-tasks",
    }[script]
    assert expected in result.stdout


def test_setup_infra_creates_everything(run_script) -> None:
    r = run_script("setup-infra.sh", **PROJECT)
    assert r.returncode == 0, r.stderr

    enable = r.one("gcloud", "services", "enable")
    for api in ("run", "pubsub", "storage", "artifactregistry", "secretmanager"):
        assert f"{api}.googleapis.com" in enable

    bucket = r.one("gcloud", "storage", "buckets", "create", "gs://groovesheet-jobs")
    assert flag(bucket, "--uniform-bucket-level-access") == ""
    update = r.one("gcloud", "storage", "buckets", "update", "gs://groovesheet-jobs")
    assert flag(update, "--lifecycle-file")
    assert json.loads(r.files) == {
        "rule": [
            {"action": {"type": "Delete"}, "condition": {"age": 30}},
            {
                "action": {"type": "Delete"},
                "condition": {
                    "age": 8,  # INPUT_RETENTION_DAYS (7) after the job finished, within the hour of upload
                    "matchesPrefix": ["jobs/"],
                    "matchesSuffix": [
                        "/input.mp3",
                        "/input.wav",
                        "/input.flac",
                        "/input.ogg",
                        # The stems go with the song: together they are the recording.
                        "/stem.drums.mp3",
                        "/stem.no_drums.mp3",
                    ],
                },
            },
        ]
    }
    suffixes = json.loads(r.files)["rule"][1]["condition"]["matchesSuffix"]
    assert {f"/{name}" for name in STEM_FILES.values()} <= set(suffixes)  # the worker's names

    created_topics = [call[4] for call in r.find("gcloud", "pubsub", "topics", "create")]
    assert created_topics == ["groovesheet-worker-tasks", "groovesheet-worker-tasks-dead-letter"]
    sub = r.one("gcloud", "pubsub", "subscriptions", "create", "groovesheet-worker-tasks-sub")
    assert flag(sub, "--topic") == "groovesheet-worker-tasks"
    assert flag(sub, "--ack-deadline") == "600"
    assert flag(sub, "--message-retention-duration") == "7d"
    assert flag(sub, "--dead-letter-topic") == "groovesheet-worker-tasks-dead-letter"
    assert flag(sub, "--max-delivery-attempts") == "5"
    dlq_sub = r.one("gcloud", "pubsub", "subscriptions", "create", "groovesheet-worker-tasks-dead-letter-sub")
    assert flag(dlq_sub, "--topic") == "groovesheet-worker-tasks-dead-letter"

    created_sas = [call[4] for call in r.find("gcloud", "iam", "service-accounts", "create")]
    assert created_sas == ["groovesheet-api", "groovesheet-worker"]

    bindings = {
        (call[1], call[4], flag(call, "--member"), flag(call, "--role"))
        for call in r.calls
        if "add-iam-policy-binding" in call
    }
    assert bindings == {
        ("pubsub", "groovesheet-worker-tasks-dead-letter", AGENT, "roles/pubsub.publisher"),
        ("pubsub", "groovesheet-worker-tasks-sub", AGENT, "roles/pubsub.subscriber"),
        ("pubsub", "groovesheet-worker-tasks", f"serviceAccount:{API_SA}", "roles/pubsub.publisher"),
        ("pubsub", "groovesheet-worker-tasks-sub", f"serviceAccount:{WORKER_SA}", "roles/pubsub.subscriber"),
        ("storage", "gs://groovesheet-jobs", f"serviceAccount:{API_SA}", "roles/storage.objectUser"),
        ("storage", "gs://groovesheet-jobs", f"serviceAccount:{WORKER_SA}", "roles/storage.objectUser"),
    }
    assert all(flag(call, "--project") == "demo-proj" for call in r.calls if "create" in call)


def test_setup_infra_rerun_creates_nothing_and_converges_settings(run_script) -> None:
    r = run_script("setup-infra.sh", FAKE_EXISTING="1", **PROJECT)
    assert r.returncode == 0, r.stderr
    assert not [call for call in r.calls if "create" in call], "describe succeeded: nothing is re-created"
    update = r.one("gcloud", "pubsub", "subscriptions", "update", "groovesheet-worker-tasks-sub")
    assert flag(update, "--ack-deadline") == "600" and flag(update, "--max-delivery-attempts") == "5"
    assert "age" in r.files
    assert len([call for call in r.calls if "add-iam-policy-binding" in call]) == 6


def test_setup_infra_names_are_overridable(run_script) -> None:
    r = run_script(
        "setup-infra.sh",
        GCP_PROJECT="other-proj",
        REGION="europe-west1",
        BUCKET="other-bucket",
        TOPIC="t",
        SUBSCRIPTION="s",
        DLQ_TOPIC="dead",
        BUCKET_LIFECYCLE_DAYS="7",
        INPUT_RETENTION_DAYS="3",
        MAX_DELIVERY_ATTEMPTS="10",
        PROJECT_NUMBER="42",
    )
    assert r.returncode == 0, r.stderr
    bucket = r.one("gcloud", "storage", "buckets", "create", "gs://other-bucket")
    assert flag(bucket, "--location") == "europe-west1" and flag(bucket, "--project") == "other-proj"
    assert '"age": 7' in r.files
    ages = [rule["condition"]["age"] for rule in json.loads(r.files)["rule"]]
    assert ages == [7, 4]  # INPUT_RETENTION_DAYS 3, plus the day a job may take
    sub = r.one("gcloud", "pubsub", "subscriptions", "create", "s")
    assert flag(sub, "--topic") == "t" and flag(sub, "--dead-letter-topic") == "dead"
    assert flag(sub, "--max-delivery-attempts") == "10"
    assert not r.find("gcloud", "projects", "describe"), "PROJECT_NUMBER given: no lookup"
    assert "serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com" in {
        flag(call, "--member") for call in r.calls
    }


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"INPUT_RETENTION_DAYS": "30"}, "must be below BUCKET_LIFECYCLE_DAYS"),
        ({"INPUT_RETENTION_DAYS": "a week"}, "whole numbers"),
    ],
)
def test_setup_infra_refuses_an_input_retention_outliving_the_outputs(run_script, env, says) -> None:
    r = run_script("setup-infra.sh", **PROJECT, **env)
    assert r.returncode != 0
    assert says in r.stderr
    assert not r.find("gcloud", "storage", "buckets", "update")


def test_deploy_worker_has_the_seeds_critical_settings(run_script) -> None:
    r = run_script("deploy-worker.sh", **PROJECT)
    assert r.returncode == 0, r.stderr
    image = "us-central1-docker.pkg.dev/demo-proj/groovesheet/annoteator-worker:t1"
    build = r.one("docker", "build")
    assert flag(build, "-f") == str(ROOT / "worker-service" / "Dockerfile")
    assert flag(build, "-t") == image and build[-1] == str(ROOT)
    assert r.one("docker", "push") == ["docker", "push", image]

    deploy = r.one("gcloud", "run", "deploy", "annoteator-worker")
    expected = {
        "--cpu": "8",
        "--memory": "32Gi",
        "--min-instances": "1",
        "--max-instances": "3",
        "--concurrency": "1",
        "--timeout": "3600",
        "--region": "us-central1",
        "--image": image,
        "--service-account": WORKER_SA,
        "--no-cpu-throttling": "",
        "--no-allow-unauthenticated": "",
    }
    assert {name: flag(deploy, name) for name in expected} == expected
    assert flag(deploy, "--allow-unauthenticated") is None
    assert env_vars(deploy) == {
        "WORKER_SUBSCRIPTION": "groovesheet-worker-tasks-sub",
        "GCS_BUCKET_NAME": "groovesheet-jobs",
        "GCP_PROJECT": "demo-proj",
        "USE_CLOUD_STORAGE": "true",
        "DEMUCS_DEVICE": "cpu",
        "DEMUCS_NUM_WORKERS": "1",
        "OMP_NUM_THREADS": "8",
        "SEPARATION_BACKEND": "bf16",
        "LOG_LEVEL": "INFO",
    }
    assert "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION" not in " ".join(deploy)


def test_deploy_worker_threads_follow_the_vcpus(run_script) -> None:
    # torch gets one thread per vCPU; OMP_NUM_THREADS and SEPARATION_BACKEND still win when set.
    r = run_script("deploy-worker.sh", WORKER_CPU="4", SKIP_BUILD="1", **PROJECT)
    assert r.returncode == 0, r.stderr
    deploy = r.one("gcloud", "run", "deploy", "annoteator-worker")
    assert flag(deploy, "--cpu") == "4"
    assert env_vars(deploy)["OMP_NUM_THREADS"] == "4"

    r = run_script(
        "deploy-worker.sh", OMP_NUM_THREADS="6", SEPARATION_BACKEND="torch", SKIP_BUILD="1", **PROJECT
    )
    assert r.returncode == 0, r.stderr
    env = env_vars(r.one("gcloud", "run", "deploy", "annoteator-worker"))
    assert (env["OMP_NUM_THREADS"], env["SEPARATION_BACKEND"]) == ("6", "torch")


def test_deploy_worker_overrides_and_skip_build(run_script) -> None:
    r = run_script(
        "deploy-worker.sh", WORKER_MEMORY="16Gi", SKIP_BUILD="1", MAX_DURATION_SECONDS="600", **PROJECT
    )
    assert r.returncode == 0, r.stderr
    assert not r.find("docker")
    deploy = r.one("gcloud", "run", "deploy", "annoteator-worker")
    assert flag(deploy, "--memory") == "16Gi"
    assert env_vars(deploy)["MAX_DURATION_SECONDS"] == "600"


def test_deploy_worker_webhook_secret_comes_from_secret_manager(run_script) -> None:
    r = run_script(
        "deploy-worker.sh", WEBHOOK_SECRET_NAME="groovesheet-webhook", WEBHOOK_MAX_ATTEMPTS="3", **PROJECT
    )
    assert r.returncode == 0, r.stderr
    deploy = r.one("gcloud", "run", "deploy", "annoteator-worker")
    assert flag(deploy, "--set-secrets") == "WEBHOOK_SECRET=groovesheet-webhook:latest"
    assert "WEBHOOK_SECRET" not in env_vars(deploy)
    assert env_vars(deploy)["WEBHOOK_MAX_ATTEMPTS"] == "3"
    grant = r.one("gcloud", "secrets", "add-iam-policy-binding", "groovesheet-webhook")
    assert flag(grant, "--member") == f"serviceAccount:{WORKER_SA}"
    assert flag(grant, "--role") == "roles/secretmanager.secretAccessor"

    without = run_script("deploy-worker.sh", **PROJECT)
    assert flag(without.one("gcloud", "run", "deploy", "annoteator-worker"), "--set-secrets") is None
    assert "no webhook" in without.stderr

    secret = "webhook-s3cr3t-do-not-log"
    for dry in ("0", "1"):
        plain = run_script("deploy-worker.sh", WEBHOOK_SECRET=secret, DRY_RUN=dry, **PROJECT)
        assert plain.returncode != 0 and "Secret Manager" in plain.stderr
        assert secret not in plain.stdout + plain.stderr


def test_deploy_api_passes_the_fair_use_limit(run_script) -> None:
    r = run_script("deploy-api.sh", MAX_ACTIVE_JOBS_PER_USER="5", **PROJECT)
    assert r.returncode == 0, r.stderr
    assert env_vars(r.one("gcloud", "run", "deploy", "groovesheet-api"))["MAX_ACTIVE_JOBS_PER_USER"] == "5"


def test_deploy_stops_when_a_command_fails(run_script) -> None:
    r = run_script("deploy-worker.sh", FAKE_FAIL="run deploy", **PROJECT)
    assert r.returncode != 0
    assert "deployed" not in r.stderr


def test_deploy_api_public_with_cloud_backends(run_script) -> None:
    r = run_script("deploy-api.sh", **PROJECT)
    assert r.returncode == 0, r.stderr
    image = "us-central1-docker.pkg.dev/demo-proj/groovesheet/groovesheet-api:t1"
    assert flag(r.one("docker", "build"), "-f") == str(ROOT / "api-service" / "Dockerfile")
    assert r.one("docker", "push") == ["docker", "push", image]
    assert r.one("gcloud", "auth", "configure-docker")[3] == "us-central1-docker.pkg.dev"

    deploy = r.one("gcloud", "run", "deploy", "groovesheet-api")
    assert flag(deploy, "--allow-unauthenticated") == ""
    assert flag(deploy, "--no-allow-unauthenticated") is None
    assert flag(deploy, "--service-account") == API_SA and flag(deploy, "--image") == image
    assert env_vars(deploy) == {
        "GCS_BUCKET_NAME": "groovesheet-jobs",
        "GCP_PROJECT": "demo-proj",
        "USE_CLOUD_STORAGE": "true",
        "WORKER_TOPIC": "groovesheet-worker-tasks",
        "AUTH_MODE": "none",
        "LOG_LEVEL": "INFO",
    }
    assert flag(deploy, "--set-secrets") is None


def test_deploy_api_jwks_and_comma_values(run_script) -> None:
    auth = {
        "AUTH_MODE": "jwks",
        "JWKS_URL": "https://id.example.com/.well-known/jwks.json",
        "JWT_ISSUER": "https://id.example.com",
        "JWT_AUDIENCE": "groovesheet",
        "CORS_ORIGINS": "https://a.example,https://b.example",
    }
    r = run_script("deploy-api.sh", **auth, **PROJECT)
    assert r.returncode == 0, r.stderr
    env = env_vars(r.one("gcloud", "run", "deploy", "groovesheet-api"))
    assert {key: env[key] for key in auth} == auth

    incomplete = run_script("deploy-api.sh", AUTH_MODE="jwks", JWKS_URL="https://x", **PROJECT)
    assert incomplete.returncode != 0 and "JWT_ISSUER" in incomplete.stderr
    assert incomplete.calls == []
    bad = run_script("deploy-api.sh", AUTH_MODE="basic", **PROJECT)
    assert bad.returncode != 0 and "AUTH_MODE" in bad.stderr


def test_deploy_api_hs256_secret_comes_from_secret_manager(run_script) -> None:
    r = run_script("deploy-api.sh", AUTH_MODE="hs256", JWT_SECRET_NAME="groovesheet-jwt", **PROJECT)
    assert r.returncode == 0, r.stderr
    deploy = r.one("gcloud", "run", "deploy", "groovesheet-api")
    assert flag(deploy, "--set-secrets") == "JWT_SECRET=groovesheet-jwt:latest"
    assert "JWT_SECRET" not in env_vars(deploy)
    grant = r.one("gcloud", "secrets", "add-iam-policy-binding", "groovesheet-jwt")
    assert flag(grant, "--member") == f"serviceAccount:{API_SA}"
    assert flag(grant, "--role") == "roles/secretmanager.secretAccessor"

    missing = run_script("deploy-api.sh", AUTH_MODE="hs256", **PROJECT)
    assert missing.returncode != 0 and "JWT_SECRET_NAME" in missing.stderr


def test_deploy_api_refuses_a_plain_secret_and_never_prints_it(run_script) -> None:
    secret = "s3cr3t-value-do-not-log"
    for dry in ("0", "1"):
        r = run_script("deploy-api.sh", AUTH_MODE="hs256", JWT_SECRET=secret, DRY_RUN=dry, **PROJECT)
        assert r.returncode != 0 and "Secret Manager" in r.stderr
        assert secret not in r.stdout + r.stderr
        assert r.calls == []


@pytest.mark.parametrize("script", ["deploy-api.sh", "deploy-worker.sh"])
def test_every_deployed_env_var_is_read_by_the_service(run_script, script: str) -> None:
    extra = {
        "AUTH_MODE": "jwks",
        "JWKS_URL": "https://x/jwks",
        "JWT_ISSUER": "https://x",
        "JWT_AUDIENCE": "a",
        "JWKS_CACHE_SECONDS": "60",
        "CORS_ORIGINS": "https://x",
        "MAX_UPLOAD_MB": "50",
        "MAX_DURATION_SECONDS": "600",
    }
    r = run_script(script, **extra, **PROJECT)
    assert r.returncode == 0, r.stderr
    service = "groovesheet-api" if script == "deploy-api.sh" else "annoteator-worker"
    names = set(env_vars(r.one("gcloud", "run", "deploy", service)))
    read = API_ENV if script == "deploy-api.sh" else WORKER_ENV
    assert names <= read, f"{service} would get variables nobody reads: {names - read}"
    assert "PORT" not in names, "Cloud Run sets PORT itself"


def test_verify_reports_everything(run_script) -> None:
    r = run_script("verify.sh", FAKE_EXISTING="1", **PROJECT)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "OK   topic groovesheet-worker-tasks" in out
    assert "OK   subscription groovesheet-worker-tasks-sub" in out
    assert "OK   pending messages in groovesheet-worker-tasks-sub: 3" in out
    assert "OK   pending messages in groovesheet-worker-tasks-dead-letter-sub: 3" in out
    assert re.search(r"OK   groovesheet-api URL: https://\S+\.run\.app", out)
    assert re.search(r"OK   annoteator-worker URL: https://\S+\.run\.app", out)
    assert "OK   annoteator-worker min-instances: 1" in out
    assert "OK   recent logs of annoteator-worker" in out and "worker: started" in out
    assert "all checks passed" in out

    monitoring = [call for call in r.find("curl") if any("monitoring.googleapis.com" in a for a in call)]
    assert len(monitoring) == 2
    assert any("num_undelivered_messages" in arg for arg in monitoring[0])
    assert r.find("curl", "-fsS", "--max-time", "15")[0][-1].endswith("/health")
    # The access token travels on curl's stdin, never on a command line or in the output.
    assert "Authorization: Bearer fake-access-token-123" in r.curl_stdin
    assert not any("fake-access-token" in arg for call in r.calls for arg in call)
    assert "fake-access-token" not in r.stdout + r.stderr
    assert r.find("gcloud", "logging", "read")


def test_verify_fails_when_things_are_missing(run_script) -> None:
    r = run_script("verify.sh", **PROJECT)
    assert r.returncode == 1
    assert "FAIL topic groovesheet-worker-tasks" in r.stdout
    assert "FAIL groovesheet-api is not deployed" in r.stdout
    assert "check(s) failed" in r.stdout
