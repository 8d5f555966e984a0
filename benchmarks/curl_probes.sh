#!/usr/bin/env bash
# The pre-deploy checklist as the plain sequential curl script a team would write instead of the
# gate. benchmarks/bench_gate.py times it against 9router-smoke; it is not part of the product.
#
#   BASE_URL=http://127.0.0.1:20128 API_KEY=sk-... MODEL=fake/fake-small DASHBOARD_PASSWORD=... \
#     bash benchmarks/curl_probes.sh
#
# It sends the same requests as `9router-smoke run --phase pre` (GET /api/version included), one
# after the other, and checks each for its status and the one fact the checklist asks for, with
# grep: no JSON parsing, no schemas, no retries, no reports. Like most such scripts it puts the key
# and password on curl's command line: use it only against a throwaway server.
# Exit 0 when every probe passed, 1 otherwise.
set -uo pipefail

: "${BASE_URL:?set BASE_URL}" "${API_KEY:?set API_KEY}" "${MODEL:?set MODEL}" "${DASHBOARD_PASSWORD:?set DASHBOARD_PASSWORD}"
prefix=${MODEL%%/*}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jar=$work/cookies
body=$work/body
failed=0

# probe NAME WANT_STATUS CURL_ARGS...: one request; the body lands in $body, the cookie jar is kept.
probe() {
  local name=$1 want=$2 got
  shift 2
  got=$(curl -sS -o "$body" -w '%{http_code}' -b "$jar" -c "$jar" --max-time 10 "$@") || got=000
  if [[ $got != "$want" ]]; then
    echo "FAIL $name: HTTP $got (expected $want)"
    failed=1
    return 1
  fi
}

# check NAME GREP_PATTERN: the last body must contain the pattern.
check() {
  if grep -q -- "$2" "$body"; then
    echo "PASS $1"
  else
    echo "FAIL $1: response lacks $2"
    failed=1
    return 1
  fi
}

total_requests() { grep -o '"totalRequests":[0-9]*' "$body" | head -1 | cut -d: -f2; }

probe version 200 "$BASE_URL/api/version" && check version '"currentVersion"'
probe models-reachable 200 "$BASE_URL/api/v1/models" && check models-reachable '"data":\['
probe dashboard-login 200 -X POST -H 'Content-Type: application/json' \
  -d "{\"password\":\"$DASHBOARD_PASSWORD\"}" "$BASE_URL/api/auth/login" && {
  if grep -q auth_token "$jar"; then echo "PASS dashboard-login"; else echo "FAIL dashboard-login: no auth_token cookie"; failed=1; fi
}
probe provider-inventory 200 "$BASE_URL/api/providers" && check provider-inventory "\"prefix\":\"$prefix\""
probe api-key-models 200 -H "Authorization: Bearer $API_KEY" "$BASE_URL/api/v1/models" &&
  check api-key-models "\"id\":\"$prefix/"
probe api-key-known 200 "$BASE_URL/api/keys" && check api-key-known "\"key\":\"$API_KEY\""

probe settings 200 "$BASE_URL/api/settings" && check settings '"requireLogin"'
cloud=false
grep -q '"cloudEnabled":true' "$body" && cloud=true

probe usage-snapshot 200 "$BASE_URL/api/usage/history"
before=$(total_requests)
chat_ok=false
probe chat-completion 200 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $API_KEY" \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}],\"max_tokens\":32,\"stream\":false}" \
  "$BASE_URL/v1/chat/completions" && check chat-completion '"choices":\[{' && chat_ok=true

# The usage row may land a moment after the chat answer: poll for up to 10 s, like the gate.
# 9router records only successful chats, so without one there is nothing to look for.
if $chat_ok; then
  moved=false
  for _ in $(seq 40); do
    probe usage-pipeline 200 "$BASE_URL/api/usage/history" || break
    after=$(total_requests)
    if [[ -n $before && -n $after && $after -gt $before ]]; then moved=true; break; fi
    sleep 0.25
  done
  if $moved; then echo "PASS usage-pipeline ($before -> $after)"; else echo "FAIL usage-pipeline: totalRequests stayed ${before:-?}"; failed=1; fi
else
  echo "SKIP usage-pipeline (the chat did not succeed)"
fi

if $cloud; then
  probe cloud-sync 200 -X POST -H 'Content-Type: application/json' -d '{"action":"sync"}' "$BASE_URL/api/sync/cloud" &&
    echo "PASS cloud-sync"
else
  echo "SKIP cloud-sync (cloudEnabled is not true)"
fi

exit "$failed"
