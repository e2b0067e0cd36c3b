# shellcheck shell=bash
# Shared defaults and helpers for the Groovesheet deploy scripts. Sourced, never run directly.
#
# Every name can be overridden from the environment, for example:
#   PROJECT_ID=my-proj REGION=europe-west1 BUCKET=my-proj-groovesheet-jobs ./setup-infra.sh
# DRY_RUN=1 prints every gcloud/docker/curl command (prefixed "+ ") on stdout instead of running it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRY_RUN="${DRY_RUN:-0}"
exec 3>&1 # the plan goes to the real stdout, even from inside $(...)

die() { echo "error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
dry() { [[ $DRY_RUN == 1 ]]; }

# The project is the one setting with no default: deploying to the wrong project is worse than stopping.
PROJECT_ID="${PROJECT_ID:-${GCP_PROJECT:-}}"
[[ -n $PROJECT_ID ]] || die "set PROJECT_ID (or GCP_PROJECT) to your Google Cloud project id, e.g. PROJECT_ID=my-proj $0"

REGION="${REGION:-us-central1}"
BUCKET="${BUCKET:-${GCS_BUCKET_NAME:-groovesheet-jobs}}"
BUCKET_LIFECYCLE_DAYS="${BUCKET_LIFECYCLE_DAYS:-30}"
INPUT_RETENTION_DAYS="${INPUT_RETENTION_DAYS:-7}"
TOPIC="${TOPIC:-${WORKER_TOPIC:-groovesheet-worker-tasks}}"
SUBSCRIPTION="${SUBSCRIPTION:-${WORKER_SUBSCRIPTION:-groovesheet-worker-tasks-sub}}"
DLQ_TOPIC="${DLQ_TOPIC:-${TOPIC}-dead-letter}"
DLQ_SUBSCRIPTION="${DLQ_SUBSCRIPTION:-${DLQ_TOPIC}-sub}"
ACK_DEADLINE_SECONDS="${ACK_DEADLINE_SECONDS:-600}"
MESSAGE_RETENTION="${MESSAGE_RETENTION:-7d}"
MAX_DELIVERY_ATTEMPTS="${MAX_DELIVERY_ATTEMPTS:-5}"

API_SERVICE="${API_SERVICE:-groovesheet-api}"
WORKER_SERVICE="${WORKER_SERVICE:-annoteator-worker}"
API_SA_NAME="${API_SA_NAME:-groovesheet-api}"
WORKER_SA_NAME="${WORKER_SA_NAME:-groovesheet-worker}"
API_SA="${API_SA:-${API_SA_NAME}@${PROJECT_ID}.iam.gserviceaccount.com}"
WORKER_SA="${WORKER_SA:-${WORKER_SA_NAME}@${PROJECT_ID}.iam.gserviceaccount.com}"

# Images live in Artifact Registry; the tag defaults to the current git commit.
AR_REPOSITORY="${AR_REPOSITORY:-groovesheet}"
REGISTRY="${REGISTRY:-${REGION}-docker.pkg.dev/${PROJECT_ID}/${AR_REPOSITORY}}"
IMAGE_TAG="${IMAGE_TAG:-$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo latest)}"
API_IMAGE="${API_IMAGE:-${REGISTRY}/groovesheet-api:${IMAGE_TAG}}"
WORKER_IMAGE="${WORKER_IMAGE:-${REGISTRY}/annoteator-worker:${IMAGE_TAG}}"

# Print a command the way a shell would read it back (plain words bare, anything else single-quoted).
show() {
  local arg line="+"
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@,%+^-]+$ ]]; then line+=" $arg"; else line+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  echo "$line"
}

# Run a command, or only print it with DRY_RUN=1. Commands carry names, never secret values.
run() {
  if dry; then show "$@" >&3; return 0; fi
  show "$@" >&2
  "$@"
}

# True when a describe-style command succeeds. With DRY_RUN=1 nothing is checked: the plan shows creation.
exists() {
  if dry; then show "$@" >&3; return 1; fi
  "$@" >/dev/null 2>&1
}

# Print a command's output (for $(...)); with DRY_RUN=1 print the command and a placeholder instead.
capture() {
  local placeholder=$1; shift
  if dry; then show "$@" >&3; echo "$placeholder"; return 0; fi
  "$@"
}

# Retry a command a few times: IAM needs a moment to see a service account that was just created.
retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    run "$@" && return 0
    dry && return 0
    log "attempt $attempt failed; retrying in $((attempt * 5)) s"
    sleep $((attempt * 5))
  done
  die "gave up after 5 attempts: $*"
}

# --set-env-vars=K=V,...; switches to gcloud's ^;^ delimiter syntax when a value contains a comma.
env_flag() {
  local joined sep=","
  [[ "$*" == *,* ]] && sep=";"
  joined="$(IFS="$sep"; echo "$*")"
  if [[ $sep == ";" ]]; then echo "--set-env-vars=^;^${joined}"; else echo "--set-env-vars=${joined}"; fi
}

# Build an image from the repository root (both Dockerfiles need shared/) and push it to Artifact Registry.
# The build runs locally with docker (BuildKit, so <Dockerfile>.dockerignore applies); SKIP_BUILD=1 deploys
# an image that was already pushed.
build_and_push() {
  local dockerfile=$1 image=$2
  if [[ ${SKIP_BUILD:-0} == 1 ]]; then log "SKIP_BUILD=1: deploying existing image $image"; return 0; fi
  export DOCKER_BUILDKIT=1
  run gcloud auth configure-docker "${REGION}-docker.pkg.dev" --quiet
  run docker build --platform=linux/amd64 -f "$REPO_ROOT/$dockerfile" -t "$image" "$REPO_ROOT"
  run docker push "$image"
}
