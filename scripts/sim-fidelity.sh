#!/usr/bin/env bash
# Fidelity evidence for xnat-sim (issues 3, 12, 13): run the Python xnatctl 0.6.0 against the simulator's
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

# Site administration (issue 12): read commands, then every write command on this fresh simulator.
check "admin version"       admin version
check "admin plugins"       admin plugins
check "admin plugins show"  admin plugins show containers
check "admin site-config get" admin site-config get
check "admin site-config get KEY (boolean)" admin site-config get requireLogin
expect_fail "admin site-config get KEY (string)" "XNAT answers a string property as raw unquoted text (SiteConfigApi returns Object; WebConfig puts StringHttpMessageConverter before Jackson: xnat-sim README); the reference parses every value as JSON" \
  admin site-config get siteId
check "admin site-config set" admin site-config set siteDescription hello --yes
expect_fail "admin audit" "stock XNAT has no /xapi/audit (only the Restlet /data/services/audit/{xsiType}/{ids}, one item's history: xnat-sim README), so the simulator answers 404; the reference then says audit logging may not be enabled" admin audit
check "admin user list"     admin user list
check "admin user show"     admin user show admin
check "admin user groups"   admin user groups admin
check "admin user roles"    admin user roles admin
check "admin user add"      admin user add user DEMO_MR_member
check "admin user disable"  admin user disable user --yes
check "admin user enable"   admin user enable user --yes
check "admin user roles --grant"  admin user roles user --grant Administrator --yes
check "admin user roles --revoke" admin user roles user --revoke Administrator --yes
check "admin user kill-sessions"  admin user kill-sessions user --yes
check "admin user remove"   admin user remove user --project DEMO_MR --yes
check "admin refresh-catalogs" admin refresh-catalogs DEMO_MR
check "admin docker images" admin docker images
check "admin docker hubs"   admin docker hubs
check "admin docker server" admin docker server
check "admin docker pull"   admin docker pull busybox:latest --yes
printf 'version "6.1"\n(0010,0010) := "ANON"\n' >"$work/anon.das"
check "anon show"           anon show
check "anon show --project" anon show --project DEMO_MR
check "anon set --project"  anon set "$work/anon.das" --project DEMO_MR --yes
check "anon enable --project"  anon enable --project DEMO_MR --yes
check "anon disable --project" anon disable --project DEMO_MR --yes
check "scp list"            scp list
check "scp show"            scp show 1
check "scp create"          scp create --ae-title TEST2 --port 8105 --yes
check "scp disable"         scp disable 2 --yes
check "scp enable"          scp enable 2 --yes
check "scp delete"          scp delete 2 --yes

if [ -d "$work/dl" ]; then
  echo "downloaded files:"; (cd "$work" && find dl dl2 -type f | sort | head -20 | sed 's/^/      /')
fi
exit $failed
