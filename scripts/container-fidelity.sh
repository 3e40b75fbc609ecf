#!/usr/bin/env bash
# The Python reference against our simulator's Container Service (issue 13, evidence of
# fidelity): its read commands, then a launch/wait, logs, logs --follow and kill cycle. Each line
# is `ok|FAIL <what>`; exits 1 when any check failed. Needs /work/venv/bin/xnatctl (or REFERENCE).
#   scripts/container-fidelity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18767}
url="http://127.0.0.1:$port"
ref=${REFERENCE:-/work/venv/bin/xnatctl}
bin=${BIN:-target/debug}   # BIN=DIR: use DIR/xnatctl and DIR/xnat-sim as they are
[ -n "${BIN:-}" ] || cargo build -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$bin/xnat-sim" --listen "127.0.0.1:$port" --fixture demo >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null -u admin:admin "$url/data/version" && break; sleep 0.1; done
export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"

failed=0
check() { # check WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; failed=1; fi
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Setup through our binary (the reference's `wrapper enable` sends the wrapper id where the
# plugin expects its name: see docs/differences-from-python.md).
"$bin/xnatctl" command create tests/it/fixtures/dcm2niix-command.json -y -q >/dev/null
"$bin/xnatctl" wrapper enable 1 1 -y 2>/dev/null
"$bin/xnatctl" wrapper enable 1 1 -P DEMO_MR -y 2>/dev/null
curl -sf -X POST "$url/__sim/containers/plan?step_ms=300&lines=3" >/dev/null

check "command list" 1 "$("$ref" command list -o json | field 'd[0]["wrapper_count"]')"
check "command show" dcm2niix "$("$ref" command show 1 -o json | field 'd["name"]')"
check "wrapper list" 1 "$("$ref" wrapper list -o json | field 'd[0]["command-id"]')"
check "wrapper config get" Session "$("$ref" wrapper config get 1 -o json | field 'd["inputs"]["session"]["type"]')"
check "container list (empty)" "[]" "$("$ref" container list -P DEMO_MR -o json | tr -d ' \n')"

out=$("$ref" container launch dcm2niix-session -P DEMO_MR -E XNAT_E00001 --wait -o json 2>/dev/null)
check "launch --wait: final status" Complete "$(echo "$out" | field 'd["status"]')"
check "launch --wait: history" "Created,Running,Complete" \
  "$(echo "$out" | field '",".join(h["status"] for h in d["history"])')"
id=$(echo "$out" | field 'd["id"]')
check "container show" Complete "$("$ref" container show "$id" -o json | field 'd["status"]')"
check "container list --status" "$id" "$("$ref" container list -P DEMO_MR --status Complete -o json | field 'd[0]["id"]')"
check "container logs" 3 "$("$ref" container logs "$id" | wc -l | tr -d ' ')"

"$ref" container launch 1 -P DEMO_MR -E XNAT_E00001 -o json >/dev/null 2>&1
check "logs --follow prints each line once" 3 \
  "$("$ref" container logs 2 --follow --interval 0.2 | sort -u | wc -l | tr -d ' ')"

curl -sf -X POST "$url/__sim/containers/plan?step_ms=300&lines=1&outcome=hang" >/dev/null
"$ref" container launch 1 -P DEMO_MR -E XNAT_E00001 -o json >/dev/null 2>&1
"$ref" container kill 3 -y >/dev/null 2>&1 && rc=0 || rc=$?
check "kill: exit" 0 "$rc"
check "kill: status" Killed "$("$ref" container show 3 -o json | field 'd["status"]')"
"$ref" container kill 99 -y >/dev/null 2>&1 && rc=0 || rc=$?
check "kill of an unknown container fails" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
exit "$failed"
