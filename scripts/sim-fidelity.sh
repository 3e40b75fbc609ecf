#!/usr/bin/env bash
# Fidelity evidence for xnat-sim (issue 3): run the Python xnatctl 0.6.0 against the simulator's
# demo fixture and check that each command succeeds. Optional in CI because it pip-installs the
# reference into a private virtualenv (target/pyref). Prints one PASS/FAIL line per command and
# exits 1 if any failed.
#   scripts/sim-fidelity.sh            # installs the reference if needed
#   XNATCTL_PY=/path/to/xnatctl scripts/sim-fidelity.sh
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

py=${XNATCTL_PY:-}
if [ -z "$py" ]; then
  venv="$root/target/pyref"
  if [ ! -x "$venv/bin/xnatctl" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "xnatctl==0.6.0" || {
      echo "could not install the Python xnatctl 0.6.0; skipping" >&2; exit 0; }
  fi
  py="$venv/bin/xnatctl"
fi

cargo build -q -p xnat-sim || exit 1
work=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT
"$root/target/debug/xnat-sim" --fixture demo --listen 127.0.0.1:0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 50); do grep -q '^listening on' "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
url=$(head -1 "$work/sim.out" | awk '{print $3}')
[ -n "$url" ] || { echo "simulator did not start" >&2; cat "$work/sim.err" >&2; exit 1; }

export HOME="$work/home" XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin
export NO_UPDATE_NOTIFIER=1 XNAT_NO_UPDATE_CHECK=1 NO_COLOR=1
mkdir -p "$HOME"

failed=0
check() {
  local name=$1; shift
  if out=$("$py" "$@" 2>&1); then
    echo "PASS  $name"
  else
    echo "FAIL  $name (exit $?)"; echo "$out" | tail -5 | sed 's/^/      /'
    failed=1
  fi
}

expect_fail() {
  local name=$1 why=$2; shift 2
  if "$py" "$@" >/dev/null 2>&1; then
    echo "PASS  $name (expected the reference to fail here: $why)"
  else
    echo "XFAIL $name: $why"
  fi
}

check "project list"      project list
check "subject list"      subject list -P DEMO_MR
check "session list"      session list -P DEMO_MR
check "session show"      session show -P DEMO_MR -E SUBJ001_MR1
check "scan list"         scan list -P DEMO_MR -E SUBJ001_MR1
check "resource list"     resource list XNAT_E00001
check "session download"  session download -P DEMO_MR -E SUBJ001_MR1 --out "$work/dl"
# The reference's --verify keys files by the URI's resource segment, which real XNAT (and the
# simulator) fill with the numeric resource ID, not the label; so it reports every file MISSING.
# That is a bug of the reference (peer spec bug 14 is the sequential variant), not of the simulator.
expect_fail "session download --workers 2 --verify" "reference keys on the resource label; XNAT URIs carry the numeric resource id" \
  session download -P DEMO_MR -E SUBJ001_MR1 --out "$work/dl2" --workers 2 --verify
check "prearchive list"   prearchive list

# Event Service (issue 13): the reference's whole cycle against the simulator's /xapi/events.
cat >"$work/subscription.json" <<'JSON'
{"name": "log new sessions", "active": true, "act-as-event-user": false, "attributes": {},
 "action-key": "org.nrg.xnat.eventservice.actions.EventServiceLoggingAction:org.nrg.xnat.eventservice.actions.EventServiceLoggingAction",
 "event-filter": {"event-type": "org.nrg.xnat.eventservice.events.SessionEvent", "project-ids": ["DEMO_MR"], "status": "CREATED"}}
JSON
check "event types"       event types
check "event actions"     event actions
check "event create"      event create "$work/subscription.json" --yes
check "event list"        event list
check "event show"        event show 1
check "event disable"     event disable 1 --yes
check "event enable"      event enable 1 --yes
check "event delete"      event delete 1 --yes
# Legacy pipelines: only the project list is a route XNAT serves; the reference's others are not
# (docs/differences-from-python.md, "Legacy pipelines"), so against XNAT or the simulator they 404.
check "pipeline list --project" pipeline list --project DEMO_MR
expect_fail "pipeline list" "the reference asks GET /data/pipelines, which XNAT does not route" pipeline list
expect_fail "pipeline run" "the reference posts to /data/experiments/E/pipelines/NAME, which XNAT does not route" \
  pipeline run DicomToNifti -E XNAT_E00001
expect_fail "pipeline jobs" "the reference asks GET /data/pipelines/jobs, which XNAT does not route" pipeline jobs

if [ -d "$work/dl" ]; then
  echo "downloaded files:"; (cd "$work" && find dl dl2 -type f | sort | head -20 | sed 's/^/      /')
fi
exit $failed
