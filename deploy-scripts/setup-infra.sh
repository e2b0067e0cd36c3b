#!/usr/bin/env bash
# Create (or bring up to date) everything Groovesheet needs in a Google Cloud project. Safe to re-run.
#
# Usage: PROJECT_ID=my-proj [REGION=us-central1] [BUCKET=...] [DRY_RUN=1] deploy-scripts/setup-infra.sh
#
# - APIs: Cloud Run, Pub/Sub, Cloud Storage, Artifact Registry, Secret Manager, IAM, Logging, Monitoring
# - Artifact Registry docker repository $AR_REPOSITORY (groovesheet)
# - bucket gs://$BUCKET (groovesheet-jobs), objects deleted after $BUCKET_LIFECYCLE_DAYS (30) days, uploaded
#   songs (jobs/*/input.*) and their stems (jobs/*/stem.*.mp3, which add up to the song) after
#   $INPUT_RETENTION_DAYS (7) days + 1 (a job finishes within the hour of its upload)
# - topic $TOPIC (groovesheet-worker-tasks), subscription $SUBSCRIPTION (groovesheet-worker-tasks-sub):
#   ack deadline 600 s, retention 7 days, dead-letter topic $DLQ_TOPIC after 5 delivery attempts
#   (with subscription $DLQ_SUBSCRIPTION so dead letters are kept for inspection)
# - service accounts: API (publish on the topic, object read/write) and worker (subscribe, object read/write)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log "project $PROJECT_ID, region $REGION"
run gcloud services enable run.googleapis.com pubsub.googleapis.com storage.googleapis.com \
  artifactregistry.googleapis.com secretmanager.googleapis.com iam.googleapis.com \
  logging.googleapis.com monitoring.googleapis.com --project="$PROJECT_ID"

if ! exists gcloud artifacts repositories describe "$AR_REPOSITORY" --location="$REGION" --project="$PROJECT_ID"; then
  run gcloud artifacts repositories create "$AR_REPOSITORY" --repository-format=docker \
    --location="$REGION" --project="$PROJECT_ID" --description="Groovesheet images"
fi

# --- Bucket ---------------------------------------------------------------------------------------------
if ! exists gcloud storage buckets describe "gs://$BUCKET" --project="$PROJECT_ID"; then
  run gcloud storage buckets create "gs://$BUCKET" --project="$PROJECT_ID" --location="$REGION" \
    --uniform-bucket-level-access --public-access-prevention
fi
lifecycle="$(mktemp)"
trap 'rm -f "$lifecycle"' EXIT
[[ $BUCKET_LIFECYCLE_DAYS =~ ^[0-9]+$ && $INPUT_RETENTION_DAYS =~ ^[0-9]+$ ]] ||
  die "BUCKET_LIFECYCLE_DAYS and INPUT_RETENTION_DAYS must be whole numbers of days"
((INPUT_RETENTION_DAYS < BUCKET_LIFECYCLE_DAYS)) ||
  die "INPUT_RETENTION_DAYS ($INPUT_RETENTION_DAYS) must be below BUCKET_LIFECYCLE_DAYS ($BUCKET_LIFECYCLE_DAYS): outputs are kept longer than songs"
# Age counts from the upload (the stems: from the job's end); the job finished within the hour, so +1
# keeps every song and its stems at least INPUT_RETENTION_DAYS after its job finished.
printf '{"rule": [{"action": {"type": "Delete"}, "condition": {"age": %d}}, {"action": {"type": "Delete"}, "condition": {"age": %d, "matchesPrefix": ["jobs/"], "matchesSuffix": ["/input.mp3", "/input.wav", "/input.flac", "/input.ogg", "/stem.drums.mp3", "/stem.no_drums.mp3"]}}]}\n' \
  "$BUCKET_LIFECYCLE_DAYS" "$((INPUT_RETENTION_DAYS + 1))" >"$lifecycle"
dry && echo "# $lifecycle: $(cat "$lifecycle")" >&3
run gcloud storage buckets update "gs://$BUCKET" --project="$PROJECT_ID" --lifecycle-file="$lifecycle"

# --- Pub/Sub --------------------------------------------------------------------------------------------
for topic in "$TOPIC" "$DLQ_TOPIC"; do
  if ! exists gcloud pubsub topics describe "$topic" --project="$PROJECT_ID"; then
    run gcloud pubsub topics create "$topic" --project="$PROJECT_ID"
  fi
done

if ! exists gcloud pubsub subscriptions describe "$DLQ_SUBSCRIPTION" --project="$PROJECT_ID"; then
  run gcloud pubsub subscriptions create "$DLQ_SUBSCRIPTION" --project="$PROJECT_ID" --topic="$DLQ_TOPIC" \
    --message-retention-duration="$MESSAGE_RETENTION" --expiration-period=never
fi

sub_settings=(--ack-deadline="$ACK_DEADLINE_SECONDS" --message-retention-duration="$MESSAGE_RETENTION"
  --dead-letter-topic="$DLQ_TOPIC" --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS" --expiration-period=never)
if exists gcloud pubsub subscriptions describe "$SUBSCRIPTION" --project="$PROJECT_ID"; then
  run gcloud pubsub subscriptions update "$SUBSCRIPTION" --project="$PROJECT_ID" "${sub_settings[@]}"
else
  run gcloud pubsub subscriptions create "$SUBSCRIPTION" --project="$PROJECT_ID" --topic="$TOPIC" "${sub_settings[@]}"
fi

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the DLQ topic and
# acknowledge (subscribe) on the source subscription.
project_number="${PROJECT_NUMBER:-$(capture PROJECT_NUMBER gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)')}"
pubsub_agent="serviceAccount:service-${project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
retry gcloud pubsub topics add-iam-policy-binding "$DLQ_TOPIC" --project="$PROJECT_ID" \
  --member="$pubsub_agent" --role=roles/pubsub.publisher
retry gcloud pubsub subscriptions add-iam-policy-binding "$SUBSCRIPTION" --project="$PROJECT_ID" \
  --member="$pubsub_agent" --role=roles/pubsub.subscriber

# --- Service accounts, least privilege ------------------------------------------------------------------
for sa in "$API_SA_NAME:Groovesheet API" "$WORKER_SA_NAME:Groovesheet worker"; do
  name="${sa%%:*}"
  if ! exists gcloud iam service-accounts describe "$name@$PROJECT_ID.iam.gserviceaccount.com" --project="$PROJECT_ID"; then
    run gcloud iam service-accounts create "$name" --project="$PROJECT_ID" --display-name="${sa#*:}"
  fi
done

# API: publish jobs; worker: pull them. Both read and write job objects (roles/storage.objectUser).
retry gcloud pubsub topics add-iam-policy-binding "$TOPIC" --project="$PROJECT_ID" \
  --member="serviceAccount:$API_SA" --role=roles/pubsub.publisher
retry gcloud pubsub subscriptions add-iam-policy-binding "$SUBSCRIPTION" --project="$PROJECT_ID" \
  --member="serviceAccount:$WORKER_SA" --role=roles/pubsub.subscriber
for sa in "$API_SA" "$WORKER_SA"; do
  retry gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" --project="$PROJECT_ID" \
    --member="serviceAccount:$sa" --role=roles/storage.objectUser
done

log "infrastructure ready: next deploy-scripts/deploy-api.sh"
