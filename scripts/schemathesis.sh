#!/usr/bin/env bash
# Fuzzes every operation of the spec against `pingjia serve --demo` with schemathesis
# (PyPI), as an admin, a county bureau and an agency key, and fails on any server
# error, response that breaks its schema, undocumented content type or status,
# accepted schema-violating request, or wrong answer to an undeclared method.
# Bounded: a few examples per operation, so it takes a few minutes.
# Usage: scripts/schemathesis.sh [path to the pingjia binary]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/pingjia}"
VERSION="4.32.5"
EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-10}"

if ! python3 -m schemathesis.cli --version >/dev/null 2>&1 && ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet "schemathesis==${VERSION}" || {
    echo "== schemathesis SKIPPED: it could not be installed from PyPI"
    exit 0
  }
fi
ST="$(command -v schemathesis || echo "python3 -m schemathesis.cli")"

[ -x "$BIN" ] || cargo build --bin pingjia
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BIN="$(realpath "$BIN")"
(cd "$WORK" && PINGJIA_LISTEN="127.0.0.1:${PORT}" "$BIN" serve --demo >"$WORK/serve.log" 2>&1) &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:${PORT}/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:${PORT}/readyz" >/dev/null

key() { (cd "$WORK" && "$BIN" keys create "$@" | grep -o 'pj_[0-9a-f]*' | head -1); }
ADMIN="$(grep 'Admin key' "$WORK/serve.log" | grep -o 'pj_[0-9a-f]*')"
BUREAU="$(key --role bureau --region 320706 --name 'schemathesis bureau')"
AGENCY="$(key --role agency --agency 6 --name 'schemathesis agency')"

CHECKS="not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance,negative_data_rejection,unsupported_method"
status=0
for who in admin bureau agency; do
  case "$who" in admin) K="$ADMIN" ;; bureau) K="$BUREAU" ;; agency) K="$AGENCY" ;; esac
  echo "== schemathesis as ${who} (${EXAMPLES} examples an operation)"
  if ! $ST --config-file scripts/schemathesis.toml run "http://127.0.0.1:${PORT}/openapi.json" \
      -H "Authorization: Bearer ${K}" \
      --checks "$CHECKS" --max-examples "$EXAMPLES" --workers 2 --request-timeout 30 \
      --seed 20261204 >"$WORK/st-${who}.log" 2>&1; then
    status=1
    # The failures, each with its request cut short (a fuzzed body can be megabytes).
    sed -n '/^Failures:/,$p' "$WORK/st-${who}.log" | cut -c1-400 | head -80
    grep -B2 -A25 '^1\. Test Case ID' "$WORK/st-${who}.log" | cut -c1-400 | head -120 || true
  fi
  tail -1 "$WORK/st-${who}.log"
done
if [ "$status" -eq 0 ]; then
  echo "schemathesis: 3 passed, 0 failed"
else
  echo "schemathesis: failures above"
fi
exit "$status"
