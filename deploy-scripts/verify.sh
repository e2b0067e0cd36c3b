#!/usr/bin/env bash
# Check a deployed Groovesheet: topic, subscription (and its dead-letter policy), pending messages, service
# URLs, the API's /health, the worker's min-instances and CPU setting, and recent logs of both services.
#
# Usage: PROJECT_ID=my-proj [REGION=us-central1] [LOG_LIMIT=20] [DRY_RUN=1] deploy-scripts/verify.sh
# Exits 1 if any check failed. Needs curl (pending messages come from the Cloud Monitoring API).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

failures=0
ok() { echo "OK   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { # check "what" command...: runs the command, shows its output, records the result
  local what=$1; shift
  if dry; then show "$@" >&3; return 0; fi
  if out="$("$@" 2>&1)"; then ok "$what"; [[ -z $out ]] || printf '     %s\n' "${out//$'\n'/$'\n'     }"; else fail "$what"; fi
}
iso_time() { date -u -d "@$1" +%FT%TZ 2>/dev/null || date -u -r "$1" +%FT%TZ; }

# Latest num_undelivered_messages of a subscription (sampled once a minute, a few minutes late).
# The access token goes to curl on stdin (-H @-): it never appears in a command line or in the output.
pending_messages() {
  local sub=$1 now filter
  now="$(date -u +%s)"
  filter="metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
  filter+=" AND resource.labels.subscription_id=\"$sub\""
  local query=(curl -fsS --max-time 30 -G -H @- "https://monitoring.googleapis.com/v3/projects/$PROJECT_ID/timeSeries"
    --data-urlencode "filter=$filter" --data-urlencode "interval.startTime=$(iso_time $((now - 900)))"
    --data-urlencode "interval.endTime=$(iso_time "$now")")
  if dry; then show gcloud auth print-access-token >&3; show "${query[@]}" >&3; return 0; fi
  local answer
  if answer="$(gcloud auth print-access-token | sed 's/^/Authorization: Bearer /' | "${query[@]}")"; then
    local count
    count="$(grep -o '"int64Value": *"[0-9]*"' <<<"$answer" | head -n 1 | sed 's/.*"\([0-9]*\)"$/\1/' || true)"
    ok "pending messages in $sub: ${count:-0}"
  else
    fail "pending messages in $sub (Cloud Monitoring API)"
  fi
}

check "topic $TOPIC" gcloud pubsub topics describe "$TOPIC" --project="$PROJECT_ID" --format='value(name)'
check "subscription $SUBSCRIPTION" gcloud pubsub subscriptions describe "$SUBSCRIPTION" --project="$PROJECT_ID" \
  --format='yaml(topic,ackDeadlineSeconds,messageRetentionDuration,deadLetterPolicy)'
check "dead-letter topic $DLQ_TOPIC" gcloud pubsub topics describe "$DLQ_TOPIC" --project="$PROJECT_ID" \
  --format='value(name)'
pending_messages "$SUBSCRIPTION"
pending_messages "$DLQ_SUBSCRIPTION"

describe_service() { # describe_service NAME FORMAT
  capture "" gcloud run services describe "$1" --project="$PROJECT_ID" --region="$REGION" --format="$2" 2>/dev/null
}
api_url=""
for service in "$API_SERVICE" "$WORKER_SERVICE"; do
  url="$(describe_service "$service" 'value(status.url)' || true)"
  [[ $service == "$API_SERVICE" ]] && api_url="$url"
  if dry; then continue; fi
  if [[ -n $url ]]; then ok "$service URL: $url"; else fail "$service is not deployed"; fi
done
if [[ -n $api_url ]]; then
  check "$API_SERVICE /health" curl -fsS --max-time 15 "$api_url/health"
fi

min_scale="$(describe_service "$WORKER_SERVICE" \
  'value(spec.template.metadata.annotations."autoscaling.knative.dev/minScale")' || true)"
throttling="$(describe_service "$WORKER_SERVICE" \
  'value(spec.template.metadata.annotations."run.googleapis.com/cpu-throttling")' || true)"
if ! dry; then
  want="${WORKER_MIN_INSTANCES:-1}"
  if [[ $min_scale == "$want" ]]; then ok "$WORKER_SERVICE min-instances: $min_scale"
  else fail "$WORKER_SERVICE min-instances is '${min_scale}', expected $want"; fi
  if [[ $throttling == false ]]; then ok "$WORKER_SERVICE CPU always allocated (no CPU throttling)"
  else fail "$WORKER_SERVICE CPU throttling is '${throttling}', expected false"; fi
fi

for service in "$API_SERVICE" "$WORKER_SERVICE"; do
  check "recent logs of $service (last hour)" gcloud logging read \
    "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$service\"" \
    --project="$PROJECT_ID" --freshness=1h --limit="${LOG_LIMIT:-20}" \
    --format='table(timestamp,severity,textPayload,jsonPayload.message)'
done

if dry; then exit 0; fi
if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
