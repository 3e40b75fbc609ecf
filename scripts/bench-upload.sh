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

# Valid DICOM Part 10 files (Explicit VR Little Endian MR, one study, 4 series), written with a
# tiny encoder so the benchmark needs nothing beyond python3.
python3 - "$work/dicom" "$files" "$side" <<'PY'
import os, struct, sys
out, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
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
root = "1.2.826.0.1.3680043.8.498.77"
study = f"{root}.1"
pixels = bytes((i * 7) % 251 for i in range(side * side * 2))
for i in range(n):
    series = i % 4 + 1
    sop = f"{root}.3.{i + 1}"
    meta_body = (el(2, 1, "OB", b"\0\1") + el(2, 2, "UI", "1.2.840.10008.5.1.4.1.1.4")
                 + el(2, 3, "UI", sop) + el(2, 0x10, "UI", "1.2.840.10008.1.2.1")
                 + el(2, 0x12, "UI", f"{root}.9"))
    meta = el(2, 0, "UL", struct.pack("<I", len(meta_body))) + meta_body
    ds = b"".join([
        el(8, 0x16, "UI", "1.2.840.10008.5.1.4.1.1.4"), el(8, 0x18, "UI", sop),
        el(8, 0x20, "DA", "20240115"), el(8, 0x30, "TM", "093000"), el(8, 0x50, "SH", "BENCH1"),
        el(8, 0x60, "CS", "MR"), el(8, 0x1030, "LO", "Bench MR"),
        el(8, 0x103E, "LO", f"series {series}"), el(0x10, 0x10, "PN", "Bench^Patient"),
        el(0x10, 0x20, "LO", "BENCH"), el(0x20, 0xD, "UI", study),
        el(0x20, 0xE, "UI", f"{root}.2.{series}"), el(0x20, 0x10, "SH", "1"),
        el(0x20, 0x11, "IS", str(series)), el(0x20, 0x13, "IS", str(i // 4 + 1)),
        el(0x28, 2, "US", us(1)), el(0x28, 4, "CS", "MONOCHROME2"), el(0x28, 0x10, "US", us(side)),
        el(0x28, 0x11, "US", us(side)), el(0x28, 0x100, "US", us(16)), el(0x28, 0x101, "US", us(12)),
        el(0x28, 0x102, "US", us(11)), el(0x28, 0x103, "US", us(0)), el(0x7FE0, 0x10, "OW", pixels),
    ])
    d = os.path.join(out, f"series{series}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{i + 1:05d}.dcm"), "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + ds)
PY
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
