#!/usr/bin/env bash
# Uploads at real-server latency (issue 10, deliverable 4): every upload command against a
# simulator that answers each request `LATENCY` ms late (the `latency-ms` fault on every path),
# ours and the Python reference interleaved in one loop. Prints, per command, the median wall
# time of `RUNS` runs and the request count of the last run (from the simulator's request log):
#   <command>\t<ours s>\t<ours requests>\t<python s>\t<python requests>
#   scripts/bench-upload-latency.sh                      # 30 ms, 5 runs
#   LATENCY=100 RUNS=10 scripts/bench-upload-latency.sh
#   XNATCTL=/tmp/other-build XNATCTL_PY=none scripts/bench-upload-latency.sh
#   ONLY=upload-exam scripts/bench-upload-latency.sh     # the commands whose name holds ONLY
# Data: 200 DICOM files (~64 KiB, 2 series), a resource folder of 100 files x 16 KiB, and an exam
# folder with that DICOM, two resource folders of 20 files and 5 loose files.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18768}
url="http://127.0.0.1:$port"
runs=${RUNS:-5}
latency=${LATENCY:-30}
bin=${XNATCTL:-target/release/xnatctl}
py=${XNATCTL_PY:-/work/venv/bin/xnatctl}
[ -x "$py" ] || py=""
[ -n "${XNATCTL:-}" ] || cargo build --release -q -p xnatctl -p xnat-sim
sim=target/release/xnat-sim
[ -x "$sim" ] || sim=target/debug/xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$sim" --listen "127.0.0.1:$port" --fixture demo --data-dir "$work/simdata" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$url/data/version" -u admin:admin && break; sleep 0.1; done

python3 scripts/gen-dicom.py "$work/dicom" 200 180 1.2.826.0.1.3680043.8.498.51 2
python3 scripts/gen-dicom.py "$work/exam/dicom" 200 180 1.2.826.0.1.3680043.8.498.52 2
python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
def files(out, n, size):
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        sub = os.path.join(out, f"d{i % 4}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:04d}.txt"), "wb") as f:
            f.write(os.urandom(size))
files(f"{work}/resdir", 100, 16384)
files(f"{work}/exam/NOTES", 20, 4096)
files(f"{work}/exam/QC", 20, 4096)
for i in range(5):
    with open(f"{work}/exam/loose{i}.txt", "wb") as f:
        f.write(os.urandom(1000))
PY
(cd "$work/dicom" && zip -qr "$work/session.zip" .)
printf 'one file\n' >"$work/one.txt"

export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home" NO_COLOR=1
mkdir -p "$work/home"
curl -sf -X POST --data "path=*,latency-ms=$latency,count=*" "$url/__sim/faults" >/dev/null

# one <binary> <tag> <run> <args...>: wall seconds and request count of one run ("-" on failure).
one() {
  local b=$1 tag=$2 run=$3
  shift 3
  local args=("${@//@TAG@/${tag}${run}}")
  curl -sf -X DELETE "$url/__sim/requests" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  if "$b" -q "${args[@]}" >"$work/out" 2>"$work/err"; then
    t1=$(date +%s.%N)
    n=$(curl -sf "$url/__sim/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    echo "$(python3 -c "print(f'{$t1-$t0:.2f}')") $n"
  else
    echo "  ($(basename "$b") ${args[*]}: $(head -c 300 "$work/err" | tr '\n' ' '))" >&2
    echo "- -"
  fi
}
median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:] if x!="-"]; print(f"{statistics.median(v):.2f}" if v else "-")' "$@"; }
bench() {
  local name=$1
  shift
  case "$name" in *"${ONLY:-}"*) ;; *) return 0 ;; esac
  local ours=() theirs=() on=- tn=-
  for r in $(seq "$runs"); do
    read -r s n < <(one "$bin" rs "$r" "$@")
    ours+=("$s")
    on=$n
    if [ -n "$py" ]; then
      read -r s n < <(one "$py" py "$r" "$@")
      theirs+=("$s")
      tn=$n
    fi
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(median "${ours[@]}")" "$on" \
    "$(if [ -n "$py" ]; then median "${theirs[@]}"; else echo -; fi)" "$tn"
}
echo "latency ${latency} ms per request, $runs runs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'command\tours s\tours req\tpython s\tpython req\n'
bench "resource upload FILE" resource upload -P DEMO_MR SUBJ001_MR1 "R@TAG@" "$work/one.txt"
bench "resource upload DIR (100 files)" resource upload -P DEMO_MR SUBJ001_MR1 "D@TAG@" "$work/resdir"
bench "resource upload DIR --scan 1" resource upload -P DEMO_MR SUBJ001_MR1 "S@TAG@" "$work/resdir" --scan 1
bench "session upload ZIP (200 DICOM)" session upload "$work/session.zip" -P DEMO_MR -S BS -E "Z@TAG@"
bench "session upload DIR (200 DICOM)" session upload "$work/dicom" -P DEMO_MR -S BS -E "T@TAG@"
bench "session upload DIR --mode gradual" session upload "$work/dicom" -P DEMO_MR -S BS -E "G@TAG@" --mode gradual
bench "session upload-exam (200 DICOM, 2 dirs, 5 loose)" session upload-exam "$work/exam" -P DEMO_MR -S BX -E "X@TAG@" --wait 60
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
