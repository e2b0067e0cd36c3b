#!/usr/bin/env bash
# Build and push the worker image, then deploy the private Cloud Run service annoteator-worker. Safe to re-run.
#
# Usage: PROJECT_ID=my-proj [WORKER_MEMORY=32Gi] [DRY_RUN=1] [SKIP_BUILD=1] deploy-scripts/deploy-worker.sh
#
# The worker pulls from $SUBSCRIPTION (streaming pull), so it needs CPU outside requests
# (--no-cpu-throttling), at least one warm instance (--min-instances 1) and one job per instance.
# It serves GET /health on $PORT for Cloud Run. Overrides: WORKER_CPU (8), WORKER_MEMORY (32Gi, lower it
# once benchmarks show less is enough), WORKER_MIN_INSTANCES (1), WORKER_MAX_INSTANCES (3),
# OMP_NUM_THREADS (WORKER_CPU: torch's threads, one per vCPU), SEPARATION_BACKEND (bf16; torch is the
# float32 reference), DEMUCS_NUM_WORKERS (1), LOG_LEVEL (INFO), MAX_DURATION_SECONDS (optional).
# Webhooks: WEBHOOK_SECRET_NAME, a Secret Manager secret mounted as WEBHOOK_SECRET (version
# WEBHOOK_SECRET_VERSION, default latest; without it no webhook is sent); WEBHOOK_MAX_ATTEMPTS and
# WEBHOOK_FIRST_RETRY_SECONDS are passed through when set.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

env_vars=("WORKER_SUBSCRIPTION=$SUBSCRIPTION" "GCS_BUCKET_NAME=$BUCKET" "GCP_PROJECT=$PROJECT_ID"
  "USE_CLOUD_STORAGE=true" "DEMUCS_DEVICE=cpu" "DEMUCS_NUM_WORKERS=${DEMUCS_NUM_WORKERS:-1}"
  "OMP_NUM_THREADS=${OMP_NUM_THREADS:-${WORKER_CPU:-8}}" "SEPARATION_BACKEND=${SEPARATION_BACKEND:-bf16}"
  "LOG_LEVEL=${LOG_LEVEL:-INFO}")
for name in MAX_DURATION_SECONDS WEBHOOK_MAX_ATTEMPTS WEBHOOK_FIRST_RETRY_SECONDS; do
  if [[ -n ${!name:-} ]]; then env_vars+=("$name=${!name}"); fi
done
[[ -z ${WEBHOOK_SECRET:-} ]] || die "WEBHOOK_SECRET is set in this shell; secrets are not deployed from plain env." \
  "Store it in Secret Manager and pass its name as WEBHOOK_SECRET_NAME (then unset WEBHOOK_SECRET)."
secret_flags=()
if [[ -n ${WEBHOOK_SECRET_NAME:-} ]]; then
  secret_flags=("--set-secrets=WEBHOOK_SECRET=${WEBHOOK_SECRET_NAME}:${WEBHOOK_SECRET_VERSION:-latest}")
else
  log "warning: no WEBHOOK_SECRET_NAME: jobs with a callback_url get no webhook"
fi

build_and_push worker-service/Dockerfile "$WORKER_IMAGE"

if [[ -n ${WEBHOOK_SECRET_NAME:-} ]]; then
  retry gcloud secrets add-iam-policy-binding "$WEBHOOK_SECRET_NAME" --project="$PROJECT_ID" \
    --member="serviceAccount:$WORKER_SA" --role=roles/secretmanager.secretAccessor
fi

run gcloud run deploy "$WORKER_SERVICE" --project="$PROJECT_ID" --region="$REGION" --image="$WORKER_IMAGE" \
  --service-account="$WORKER_SA" --no-allow-unauthenticated --ingress=internal --execution-environment=gen2 \
  --cpu="${WORKER_CPU:-8}" --memory="${WORKER_MEMORY:-32Gi}" --no-cpu-throttling \
  --min-instances="${WORKER_MIN_INSTANCES:-1}" --max-instances="${WORKER_MAX_INSTANCES:-3}" \
  --concurrency=1 --timeout=3600 --port=8080 \
  --liveness-probe="httpGet.path=/health,periodSeconds=60,timeoutSeconds=10,failureThreshold=5" \
  "$(env_flag "${env_vars[@]}")" ${secret_flags[@]+"${secret_flags[@]}"} --quiet

log "deployed $WORKER_SERVICE: next deploy-scripts/verify.sh"
