#!/usr/bin/env bash
# Build and push the API image, then deploy the public Cloud Run service groovesheet-api. Safe to re-run.
#
# Usage: PROJECT_ID=my-proj [AUTH_MODE=none|hs256|jwks] [DRY_RUN=1] [SKIP_BUILD=1] deploy-scripts/deploy-api.sh
#
# Auth (read by the API; see api-service/groovesheet_api/config.py):
#   AUTH_MODE=jwks   needs JWKS_URL, JWT_ISSUER, JWT_AUDIENCE (plain settings, not secrets)
#   AUTH_MODE=hs256  needs JWT_SECRET_NAME: a Secret Manager secret mounted as JWT_SECRET
#                    (version JWT_SECRET_VERSION, default latest). The value never passes through here.
# Optional pass-through: CORS_ORIGINS, MAX_UPLOAD_MB, MAX_DURATION_SECONDS, JWKS_CACHE_SECONDS, LOG_LEVEL.
# Sizing: API_CPU (1), API_MEMORY (1Gi), API_CONCURRENCY (40), API_MIN_INSTANCES (0), API_MAX_INSTANCES (10).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -z ${JWT_SECRET:-} ]] || die "JWT_SECRET is set in this shell; secrets are not deployed from plain env." \
  "Store it in Secret Manager and pass its name as JWT_SECRET_NAME (then unset JWT_SECRET)."

AUTH_MODE="${AUTH_MODE:-none}"
env_vars=("GCS_BUCKET_NAME=$BUCKET" "GCP_PROJECT=$PROJECT_ID" "USE_CLOUD_STORAGE=true" "WORKER_TOPIC=$TOPIC"
  "AUTH_MODE=$AUTH_MODE" "LOG_LEVEL=${LOG_LEVEL:-INFO}")
secret_flags=()
case "$AUTH_MODE" in
  none) log "warning: AUTH_MODE=none: anyone who can reach $API_SERVICE can create jobs" ;;
  jwks)
    for name in JWKS_URL JWT_ISSUER JWT_AUDIENCE; do
      [[ -n ${!name:-} ]] || die "AUTH_MODE=jwks needs $name"
    done ;;
  hs256)
    [[ -n ${JWT_SECRET_NAME:-} ]] || die "AUTH_MODE=hs256 needs JWT_SECRET_NAME (a Secret Manager secret)"
    secret_flags=("--set-secrets=JWT_SECRET=${JWT_SECRET_NAME}:${JWT_SECRET_VERSION:-latest}") ;;
  *) die "AUTH_MODE must be none, hs256 or jwks (got '$AUTH_MODE')" ;;
esac
for name in JWKS_URL JWT_ISSUER JWT_AUDIENCE JWKS_CACHE_SECONDS CORS_ORIGINS MAX_UPLOAD_MB MAX_DURATION_SECONDS \
  MAX_ACTIVE_JOBS_PER_USER ACTIVE_JOBS_RETRY_AFTER_SECONDS; do
  if [[ -n ${!name:-} ]]; then env_vars+=("$name=${!name}"); fi
done

build_and_push api-service/Dockerfile "$API_IMAGE"

if [[ -n ${JWT_SECRET_NAME:-} && $AUTH_MODE == hs256 ]]; then
  retry gcloud secrets add-iam-policy-binding "$JWT_SECRET_NAME" --project="$PROJECT_ID" \
    --member="serviceAccount:$API_SA" --role=roles/secretmanager.secretAccessor
fi

run gcloud run deploy "$API_SERVICE" --project="$PROJECT_ID" --region="$REGION" --image="$API_IMAGE" \
  --service-account="$API_SA" --allow-unauthenticated --port=8080 \
  --cpu="${API_CPU:-1}" --memory="${API_MEMORY:-1Gi}" --concurrency="${API_CONCURRENCY:-40}" --timeout=300 \
  --min-instances="${API_MIN_INSTANCES:-0}" --max-instances="${API_MAX_INSTANCES:-10}" \
  "$(env_flag "${env_vars[@]}")" ${secret_flags[@]+"${secret_flags[@]}"} --quiet

log "deployed $API_SERVICE: next deploy-scripts/deploy-worker.sh"
