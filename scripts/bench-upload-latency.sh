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

python3 - "$work" <<'PY'
import os, struct, sys
work = sys.argv[1]
LONG = {"OB", "OW", "SQ", "UN", "UT"}
def el(group, elem, vr, value):
    if isinstance(value, str):
        value = value.encode()
        if len(value) % 2:
            value += b"\0" if vr == "UI" else b" "
    head = struct.pack("<HH", group, elem) + vr.encode()
    if vr in LONG:
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value
us = lambda v: struct.pack("<H", v)
def dicom(out, n, root, side=180):
    os.makedirs(out, exist_ok=True)
    pixels = bytes((i * 7) % 251 for i in range(side * side * 2))
    for i in range(n):
        series = i % 2 + 1
        sop = f"{root}.3.{i + 1}"
        meta_body = (el(2, 1, "OB", b"\0\1") + el(2, 2, "UI", "1.2.840.10008.5.1.4.1.1.4")
                     + el(2, 3, "UI", sop) + el(2, 0x10, "UI", "1.2.840.10008.1.2.1")
                     + el(2, 0x12, "UI", f"{root}.9"))
        meta = el(2, 0, "UL", struct.pack("<I", len(meta_body))) + meta_body
        ds = b"".join([
            el(8, 0x16, "UI", "1.2.840.10008.5.1.4.1.1.4"), el(8, 0x18, "UI", sop),
            el(8, 0x20, "DA", "20240115"), el(8, 0x30, "TM", "093000"), el(8, 0x50, "SH", "B1"),
            el(8, 0x60, "CS", "MR"), el(8, 0x1030, "LO", "Bench MR"),
            el(8, 0x103E, "LO", f"series {series}"), el(0x10, 0x10, "PN", "Bench^Patient"),
            el(0x10, 0x20, "LO", "BENCH"), el(0x20, 0xD, "UI", f"{root}.1"),
            el(0x20, 0xE, "UI", f"{root}.2.{series}"), el(0x20, 0x10, "SH", "1"),
            el(0x20, 0x11, "IS", str(series)), el(0x20, 0x13, "IS", str(i // 2 + 1)),
            el(0x28, 2, "US", us(1)), el(0x28, 4, "CS", "MONOCHROME2"), el(0x28, 0x10, "US", us(side)),
            el(0x28, 0x11, "US", us(side)), el(0x28, 0x100, "US", us(16)), el(0x28, 0x101, "US", us(12)),
            el(0x28, 0x102, "US", us(11)), el(0x28, 0x103, "US", us(0)), el(0x7FE0, 0x10, "OW", pixels),
        ])
        d = os.path.join(out, f"series{series}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{i + 1:05d}.dcm"), "wb") as f:
            f.write(b"\0" * 128 + b"DICM" + meta + ds)
def files(out, n, size):
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        sub = os.path.join(out, f"d{i % 4}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:04d}.txt"), "wb") as f:
            f.write(os.urandom(size))
dicom(f"{work}/dicom", 200, "1.2.826.0.1.3680043.8.498.51")
files(f"{work}/resdir", 100, 16384)
dicom(f"{work}/exam/dicom", 200, "1.2.826.0.1.3680043.8.498.52")
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
