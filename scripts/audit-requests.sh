#!/usr/bin/env bash
# Requests per list/show command against one project of 200 subjects x 2 sessions (issue 10):
# a real XNAT answers each request in tens to hundreds of milliseconds, so a command's request
# count is its speed on a real site. Prints `<requests>\t<command>` per command (the download
# twice: fresh, then a complete re-run; 3 scans x 2 files in the generated session).
#   scripts/audit-requests.sh                       # ours (target/debug/xnatctl unless XNATCTL set)
#   XNATCTL=/work/venv/bin/xnatctl scripts/audit-requests.sh   # the Python reference
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18766}
url="http://127.0.0.1:$port"
bin=${XNATCTL:-target/debug/xnatctl}
[ -n "${XNATCTL:-}" ] || cargo build -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
target/debug/xnat-sim --listen "127.0.0.1:$port" \
  --generate "projects=1,subjects=200,sessions=2,scans=3,files=2,file-size=1024" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null -u admin:admin "$url/data/version" && break; sleep 0.1; done

export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"
p=GEN00001
e=$(curl -sf -u admin:admin "$url/data/projects/$p/experiments?format=json" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ResultSet"]["Result"][0]["ID"])')
s=$(curl -sf -u admin:admin "$url/data/projects/$p/subjects?format=json" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["ResultSet"]["Result"][0]["label"])')
count() {
  curl -sf -X DELETE "$url/__sim/requests" >/dev/null
  "$bin" "$@" >"$work/out" 2>"$work/err" || echo "  (exit $?: $(head -c 200 "$work/err" | tr '\n' ' '))" >&2
  n=$(curl -sf "$url/__sim/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  printf '%s\t%s\n' "$n" "$*"
}
count project list
count project show "$p"
count subject list -P "$p"
count subject show "$s" -P "$p"
count session list -P "$p"
count session show -E "$e"
count scan list -E "$e"
count scan show 1 -E "$e"
count resource list "$e"
count resource show "$e" DICOM --scan 1
count prearchive list
count search list
count session download -E "$e" --out "$work/dl"
count session download -E "$e" --out "$work/dl"
