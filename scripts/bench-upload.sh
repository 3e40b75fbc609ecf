#!/usr/bin/env bash
# Upload benchmark (issue 5): `xnatctl session upload DIR` (parallel tar batches) into a local
# simulator; wall time, throughput and peak RSS. With XNATCTL_PY pointing at the Python xnatctl
# 0.6.0 the same upload is timed with it and the ratio printed (target: >= 2x).
#   scripts/bench-upload.sh                       # 1,000 files x ~1 MiB = ~1 GiB
#   FILES=200 scripts/bench-upload.sh             # smaller
#   XNATCTL_PY=/path/to/python/xnatctl scripts/bench-upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-1000}
side=${SIDE:-724}          # 724 x 724 x 16 bit = 1,048,352 bytes of pixels per file
workers=${WORKERS:-4}
mode=${MODE:-tar}
port=${PORT:-18766}
url="http://127.0.0.1:$port"

cargo build --release -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

target/release/xnat-sim --listen "127.0.0.1:$port" --fixture demo --data-dir "$work/simdata" \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$url/data/version" -u admin:admin && break; sleep 0.1; done

# Valid DICOM Part 10 files: one study, 4 series (scripts/gen-dicom.py).
python3 scripts/gen-dicom.py "$work/dicom" "$files" "$side" 1.2.826.0.1.3680043.8.498.77
total=$(du -sb "$work/dicom" | awk '{print $1}')
echo "data: $files DICOM files, $(python3 -c "print(f'{$total/2**30:.2f}')") GiB, workers=$workers, mode=$mode"

measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
    cat "$work/err" >&2
    return 1
  }
  cat "$work/time"
}

export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"

read -r rs_s rs_kib < <(measure target/release/xnatctl -q session upload "$work/dicom" \
  -P DEMO_MR -S BENCH -E BENCH_RS --workers "$workers" --mode "$mode" --overwrite append)

landed=$(curl -sf -u admin:admin "$url/data/projects/DEMO_MR/experiments/BENCH_RS/files?format=json" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ResultSet"]["Result"]))')
echo "files in the archived session: $landed/$files"

py=${XNATCTL_PY:-}
py_s=""
if [ -n "$py" ]; then
  read -r py_s py_kib < <(measure "$py" -q session upload "$work/dicom" \
    -P DEMO_MR -S BENCH -E BENCH_PY --workers "$workers" --mode "$mode" --overwrite append)
fi

python3 - "$total" "$rs_s" "$rs_kib" "$py_s" <<'PY'
import sys
total, rs_s, rs_kib, py_s = sys.argv[1:]
total, rs_s = int(total), float(rs_s)
mib = 2 ** 20
rs_tp = total / mib / max(rs_s, 1e-3)
print(f"xnatctl session upload: {rs_s:.2f} s, {rs_tp:.0f} MiB/s, peak RSS {int(rs_kib)/1024:.1f} MiB")
if py_s:
    py_s = float(py_s)
    py_tp = total / mib / max(py_s, 1e-3)
    ratio = rs_tp / py_tp
    print(f"python xnatctl session upload: {py_s:.2f} s, {py_tp:.0f} MiB/s")
    print(f"throughput ratio rust/python = {ratio:.2f} (target >= 2: {'yes' if ratio >= 2 else 'NO'})")
else:
    print("set XNATCTL_PY to compare with the Python tool")
PY
