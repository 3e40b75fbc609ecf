#!/usr/bin/env bash
# A guided tour of xnatctl against the local XNAT simulator: nothing to install but Rust, no
# server needed, nothing written outside a temporary directory (removed at the end).
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== building xnatctl and xnat-sim"
cargo build -q -p xnatctl -p xnat-sim
X="$root/target/debug/xnatctl"

work=$(mktemp -d)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$root/target/debug/xnat-sim" --fixture demo --listen 127.0.0.1:0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/sim.out" 2>/dev/null && break; sleep 0.05; done
url=$(head -1 "$work/sim.out" | awk '{print $3}')
[ -n "$url" ] || { echo "the simulator did not start:" >&2; cat "$work/sim.err" >&2; exit 1; }
echo "== simulator listening on $url (user admin, password admin)"

# A private home: the demo never touches your real ~/.config/xnatctl.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset XNAT_URL XNAT_USER XNAT_PASS XNAT_TOKEN XNAT_PROFILE XNATCTL_CONFIG 2>/dev/null || true
mkdir -p "$HOME"

run() { echo; echo "\$ xnatctl $*"; "$X" "$@"; }

run config init --url "$url" --project DEMO_MR --username admin --no-login
echo; echo "\$ echo admin | xnatctl auth login --password-stdin"
echo admin | "$X" auth login --password-stdin
run whoami
run health ping
run project list
run subject list
run session list
run session show -E SUBJ001_MR1
run scan list -E SUBJ001_MR1
run resource list SUBJ001_MR1
run session download -E SUBJ001_MR1 --out "$work/data" --workers 4
echo; echo "files on disk:"; (cd "$work/data" && find . -type f | sort | sed 's/^/  /')
echo; echo "# running the same download again fetches nothing that is already complete and verified"
run session download -E SUBJ001_MR1 --out "$work/data" --workers 4 --verify
echo; echo "\$ xnatctl project list -o json | head -8"
"$X" project list -o json | head -8
run prearchive list
run auth logout
echo; echo "== demo finished; the simulator is stopped and $work is removed"
