#!/usr/bin/env bash
# DICOM benchmark (issue 11): medians of xnatctl and the Python xnatctl 0.6.0, side by side.
#   session upload-dicom  1,000 files x 512 KiB into dcmtk's storescp, 4 associations (target >= 2x,
#                         peak RSS <= 64 MiB)
#   dicom anonymize -r    the same 1,000 files (target >= 5x)
#   dicom validate -r     10,000 small files (target >= 10x)
# Needs storescp (dcmtk) and the reference in a venv:
#   python3 -m venv /tmp/venv && /tmp/venv/bin/pip install xnatctl==0.6.0
#   XNATCTL_PY=/tmp/venv/bin/xnatctl scripts/bench-dicom.sh   # RUNS=5 FILES=1000 SMALL=10000 SKIP_BUILD=1
#   ROWS=upload,anonymize,validate (a subset runs only those rows)
# Runs of the two tools alternate; each line gives medians, peak RSS and the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
files=${FILES:-1000}
small=${SMALL:-10000}
workers=${WORKERS:-4}
py=${XNATCTL_PY:?set XNATCTL_PY to the Python xnatctl 0.6.0 executable}
scp_port=${SCP_PORT:-18104}
sim_port=${SIM_PORT:-18767}
rs=target/release/xnatctl

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Explicit VR Little Endian MR files written by a tiny encoder (nothing beyond python3 needed).
gen() { # DIR COUNT SIDE
python3 - "$1" "$2" "$3" <<'PY'
import os, struct, sys
out, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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
root = "1.2.826.0.1.3680043.8.498.78"
pixels = bytes((i * 7) % 251 for i in range(side * side * 2))
for i in range(n):
    series = i % 4 + 1
    sop = f"{root}.3.{side}.{i + 1}"
    meta_body = (el(2, 1, "OB", b"\0\1") + el(2, 2, "UI", "1.2.840.10008.5.1.4.1.1.4")
                 + el(2, 3, "UI", sop) + el(2, 0x10, "UI", "1.2.840.10008.1.2.1")
                 + el(2, 0x12, "UI", f"{root}.9"))
    meta = el(2, 0, "UL", struct.pack("<I", len(meta_body))) + meta_body
    ds = b"".join([
        el(8, 0x16, "UI", "1.2.840.10008.5.1.4.1.1.4"), el(8, 0x18, "UI", sop),
        el(8, 0x20, "DA", "20240115"), el(8, 0x30, "TM", "093000"), el(8, 0x50, "SH", "BENCH1"),
        el(8, 0x60, "CS", "MR"), el(8, 0x80, "LO", "Bench Hospital"), el(8, 0x1030, "LO", "Bench MR"),
        el(8, 0x103E, "LO", f"series {series}"), el(0x10, 0x10, "PN", "Bench^Patient"),
        el(0x10, 0x20, "LO", "BENCH"), el(0x10, 0x30, "DA", "19700101"),
        el(0x20, 0xD, "UI", f"{root}.1"), el(0x20, 0xE, "UI", f"{root}.2.{series}"),
        el(0x20, 0x10, "SH", "1"), el(0x20, 0x11, "IS", str(series)),
        el(0x20, 0x13, "IS", str(i // 4 + 1)),
        el(0x28, 2, "US", us(1)), el(0x28, 4, "CS", "MONOCHROME2"), el(0x28, 0x10, "US", us(side)),
        el(0x28, 0x11, "US", us(side)), el(0x28, 0x100, "US", us(16)), el(0x28, 0x101, "US", us(12)),
        el(0x28, 0x102, "US", us(11)), el(0x28, 0x103, "US", us(0)), el(0x7FE0, 0x10, "OW", pixels),
    ])
    d = os.path.join(out, f"series{series}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{i + 1:05d}.dcm"), "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + ds)
PY
}
gen "$work/big" "$files" 512
gen "$work/small" "$small" 8
echo "data: $files files x 512 KiB, $small small files; runs=$runs (medians, interleaved); $(nproc) cores"

# The reference's upload-dicom runs its REST login preamble: give it a simulator to log into.
export HOME="$work/home" XNAT_URL="http://127.0.0.1:$sim_port" XNAT_USER=admin XNAT_PASS=admin
mkdir -p "$HOME"
target/release/xnat-sim --listen "127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 &
pids+=($!)
mkdir -p "$work/scp"
# --fork: one process per association, so 4 associations really run in parallel.
storescp --fork -aet STORESCP -od "$work/scp" "$scp_port" >"$work/scp.log" 2>&1 &
pids+=($!)
sleep 1

# One run of a command: {"median_s": wall, "peak_rss_kib": rss} (GNU time through benchlib).
once() { python3 scripts/benchlib.py 1 -- "$@"; }
# pair NAME CLEANUP -- RUST_CMD... -- PY_CMD...: the two commands alternate (xnatctl, python,
# xnatctl, ...) so that a noisy neighbour hits both alike; CLEANUP runs after every run, untimed.
pair() {
  local name=$1 cleanup=$2; shift 3
  local a=() b=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift; b=("$@")
  local ra=() rb=()
  for _ in $(seq "$runs"); do
    ra+=("$(once "${a[@]}")"); eval "$cleanup"
    rb+=("$(once "${b[@]}")"); eval "$cleanup"
  done
  python3 - "$name" "$(uptime)" "${ra[*]}" "${rb[*]}" <<'PY'
import json, statistics, sys
name, load = sys.argv[1], sys.argv[2].split("load average:")[-1].strip()
dec = json.JSONDecoder()
def parse(s):
    out, i = [], 0
    while i < len(s):
        if s[i].isspace():
            i += 1
            continue
        o, i = dec.raw_decode(s, i)
        out.append(o)
    return out
r, p = parse(sys.argv[3]), parse(sys.argv[4])
rm = statistics.median(x["median_s"] for x in r)
pm = statistics.median(x["median_s"] for x in p)
rr = max(x["peak_rss_kib"] for x in r) / 1024
pr = max(x["peak_rss_kib"] for x in p) / 1024
print(f"{name:<22} xnatctl {rm:7.2f}s {rr:6.1f} MiB | python {pm:7.2f}s {pr:6.1f} MiB | "
      f"speed-up {pm/rm:5.1f}x | load {load}")
PY
}
rows=${ROWS:-upload,anonymize,validate}
want() { [[ ",$rows," == *",$1,"* ]]; }
up=(session upload-dicom "$work/big" --host 127.0.0.1 --port "$scp_port" --called-aet STORESCP -w "$workers")
want upload && pair "upload-dicom -w $workers" 'rm -rf "$work"/scp/*' -- "$rs" -q "${up[@]}" -- "$py" "${up[@]}"
# Each anonymize run writes into a fresh directory (as a first run does; replacing existing
# outputs costs both tools extra file-system work that is not the tool's). The outputs are
# deleted only after the last run (RUNS x 2 x 500 MB on disk meanwhile): ext4 skips inodes
# deleted in the last 30 s when it allocates one, and that scan (ext4_create ->
# recently_deleted, seen with perf) dominated the run that followed a deletion.
anon() { # TOOL...: anonymize into a new directory under $work/anon
  local out; out=$(mktemp -u -p "$work/anon")
  "$@" dicom anonymize "$work/big" "$out" -r
}
export -f anon
export work
mkdir -p "$work/anon"
want anonymize && pair "anonymize -r" ':' -- bash -c 'anon "$@"' _ "$rs" -q -- bash -c 'anon "$@"' _ "$py"
# validate exits 1 on invalid files in xnatctl; these are all valid.
rm -rf "$work"/anon
want validate && pair "validate -r" ':' -- "$rs" -q dicom validate "$work/small" -r -- "$py" dicom validate "$work/small" -r
exit 0
