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

gen() { # DIR COUNT SIDE
  python3 scripts/gen-dicom.py "$1" "$2" "$3" 1.2.826.0.1.3680043.8.498.78
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
