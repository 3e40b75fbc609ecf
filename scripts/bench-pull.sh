#!/usr/bin/env bash
# `project pull` benchmark (issue 15): a project of SESSIONS sessions x 10 MiB (2 scans x 5 files x
# 1 MiB) at a simulator latency of LATENCY ms per request:
#   ours     xnatctl project pull (default options), fresh, then a re-run over the unchanged mirror
#   python   a shell loop of the reference's `session download` over the same sessions
#            (when XNATCTL_PY points at it)
#   scripts/bench-pull.sh
#   SESSIONS=20 LATENCY=30 XNATCTL_PY=/work/venv/bin/xnatctl scripts/bench-pull.sh
# Targets: ours >= 3x faster than the loop; the re-run <= 1 s at 30 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${SESSIONS:-100}
latency=${LATENCY:-30}
py=${XNATCTL_PY:-}
port=${PORT:-18780}
url="http://127.0.0.1:$port"

cargo build --release -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

target/release/xnat-sim --listen "127.0.0.1:$port" \
  --generate "projects=1,subjects=$sessions,sessions=1,scans=2,files=5,file-size=1048576" \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$url/data/version" -u admin:admin && break; sleep 0.1; done
if [ "$latency" != 0 ]; then
  curl -sf -X POST --data "path=*,latency-ms=$latency,count=*" "$url/__sim/faults" >/dev/null
fi
export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"

wall() { /usr/bin/time -f "%e" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { echo "failed: $*: $(tail -c 300 "$work/err")" >&2; }; cat "$work/t"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$(wall target/release/xnatctl -q project pull -P GEN00001 --out "$work/mirror")
curl -sf -X DELETE "$url/__sim/requests" >/dev/null
rerun=$(wall target/release/xnatctl -q project pull -P GEN00001 --out "$work/mirror")
reqs=$(curl -sf "$url/__sim/requests" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), sum(1 for x in r if "/files" in x["path"]))')
files=$(find "$work/mirror" -type f -not -name '.xnatctl-pull.json' | wc -l)
echo "ours: fresh pull ${ours} s ($files files), re-run ${rerun} s (requests, transfers: $reqs)"
if [ -n "$py" ]; then
  ids=$(curl -sf -u admin:admin "$url/data/projects/GEN00001/experiments?format=json" |
    python3 -c 'import json,sys; print(" ".join(r["ID"] for r in json.load(sys.stdin)["ResultSet"]["Result"]))')
  loop() { for id in $ids; do "$py" session download -E "$id" --out "$work/py" >/dev/null 2>&1; done; }
  export -f loop; export py ids work
  t=$(wall bash -c loop)
  echo "python loop of session download: ${t} s; ours/python = $(python3 -c "print(round($ours/$t, 2))")"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
