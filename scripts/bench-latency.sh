#!/usr/bin/env bash
# Downloads at real-server latency (issue 10): wall-time medians, side by side, of
#   ours     xnatctl session download (default options)
#   python   the reference xnatctl 0.6.0 (default options), when XNATCTL_PY points at it
#   curl     the 10 scan archives fetched in parallel (no verification, no extraction)
# for two sessions (1,000 files x 256 KiB in 10 scans; 1 GiB in 1,000 files) at a simulator
# latency of 0, 30 and 100 ms per request (`latency-ms` fault on every path). Also: our peak RSS,
# and a complete re-run (requests made, transfers asserted to be zero, wall time).
#   scripts/bench-latency.sh
#   RUNS=5 LATENCIES="0 30" SESSIONS=small XNATCTL_PY=/work/venv/bin/xnatctl scripts/bench-latency.sh
# Targets: ours <= 0.5x python at every latency; ours at 30 ms <= 1.3x ours at 0 ms; peak RSS
# <= 64 MiB; a re-run transfers nothing and takes <= 0.1 s at zero latency.
#
# Each run's output goes to BENCH_DIR (default /dev/shm, a tmpfs, when it has room): on this
# project's VM the disk is ext4 without a journal, where creating a file scans past every inode
# of its block group deleted in the last minutes (`recently_deleted` in the kernel's inode
# allocator). A benchmark that deletes the previous run's 1,000 files before the next run (and
# a /tmp that other processes churn) then spends 0.4-0.7 s of kernel time creating 1,000 empty
# files, a cost that falls only on the tool that extracts (not on one zip or ten), varies with
# whatever was deleted before, and that an ext4 with a journal never pays. On a disk BENCH_DIR
# the work folder gets `chattr +T` so each run's output lands in a fresh block group (mostly).
# Nobody fsyncs (see docs/downloads.md), so a tmpfs only removes that noise, and the
# background writeback of the previous run's files, from the measurement.
# Also reported: user+sys CPU seconds of each tool and of the simulator (same 2 cores), and the
# load average at the start and the end.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
latencies=${LATENCIES:-0 30 100}
py=${XNATCTL_PY:-}
base_port=${PORT:-18770}
only=${SESSIONS:-small large}

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p xnatctl -p xnat-sim
bench_dir=${BENCH_DIR:-}
if [ -z "$bench_dir" ] && [ -d /dev/shm ] && [ "$(df -k --output=avail /dev/shm | tail -1)" -gt 4000000 ]; then
  bench_dir=/dev/shm
fi
work=$(mktemp -d -p "${bench_dir:-${TMPDIR:-/tmp}}")
chattr +T "$work" 2>/dev/null || true
echo "work folder: $work ($(df -T "$work" | awk 'NR==2 {print $2}')); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# name:files-per-scan:file-size (10 scans each)
sessions="small:100:262144 large:100:1073741"
port=$base_port
for s in $sessions; do
  IFS=: read -r name files size <<<"$s"
  case " $only " in *" $name "*) ;; *) continue ;; esac
  target/release/xnat-sim --listen "127.0.0.1:$port" \
    --generate "projects=1,subjects=1,sessions=1,scans=10,files=$files,file-size=$size" \
    >"$work/sim-$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf -o /dev/null -u admin:admin "http://127.0.0.1:$port/xapi/siteConfig/buildInfo" && break; sleep 0.1; done
  echo "$name $port $!" >>"$work/ports"
  port=$((port + 1))
done

export XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"

# CPU ticks (user+sys) the simulator has used so far.
sim_ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }

# Wall seconds, peak RSS (KiB), user+sys CPU seconds of "$@", and the simulator's CPU seconds
# meanwhile.
measure() {
  local before after
  before=$(sim_ticks)
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
    echo "failed: $* ($(head -c 300 "$work/err"))" >&2
    echo "nan 0 0 0"
    return 0
  }
  after=$(sim_ticks)
  read -r e m u s <"$work/time"
  echo "$e $m $(echo "$u + $s" | bc) $(echo "scale=2; ($after - $before) / $(getconf CLK_TCK)" | bc)"
}

curl_all() {
  local url=$1 dir=$2
  mkdir -p "$dir"
  for s in $(seq 10); do
    curl -sf -u admin:admin -o "$dir/scan$s.zip" "$url/data/experiments/XNAT_E00001/scans/$s/files?format=zip" &
  done
  wait
}
export -f curl_all

: >"$work/results"
while read -r name port sim_pid; do
  url="http://127.0.0.1:$port"
  export XNAT_URL="$url"
  for lat in $latencies; do
    curl -sf -X DELETE "$url/__sim/faults" >/dev/null
    if [ "$lat" != 0 ]; then
      curl -sf -X POST --data "path=*,latency-ms=$lat,count=*" "$url/__sim/faults" >/dev/null
    fi
    for r in $(seq "$runs"); do
      rm -rf "$work/out"
      read -r t kib cpu sim < <(measure target/release/xnatctl -q session download -E XNAT_E00001 --out "$work/out")
      echo "$name $lat ours $t $kib $cpu $sim" >>"$work/results"
      # Complete re-run: must transfer nothing.
      curl -sf -X DELETE "$url/__sim/requests" >/dev/null
      read -r t2 _ _ _ < <(measure target/release/xnatctl -q session download -E XNAT_E00001 --out "$work/out")
      transfers=$(curl -sf "$url/__sim/requests" | python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin) if "/files/" in r["path"] or "format=zip" in r["query"]))')
      requests=$(curl -sf "$url/__sim/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
      echo "$name $lat rerun $t2 0 $transfers $requests" >>"$work/results"
      rm -rf "$work/out"
      if [ -n "$py" ]; then
        read -r t kib cpu sim < <(measure "$py" session download -E XNAT_E00001 --out "$work/py")
        echo "$name $lat python $t $kib $cpu $sim" >>"$work/results"
        rm -rf "$work/py"
      fi
      read -r t kib cpu sim < <(measure bash -c "curl_all $url $work/curl")
      echo "$name $lat curl $t $kib $cpu $sim" >>"$work/results"
      rm -rf "$work/curl"
    done
  done
done <"$work/ports"

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
cpu = defaultdict(list)
sim = defaultdict(list)
rss = defaultdict(int)
rerun = defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    name, lat, tool, t = f[0], int(f[1]), f[2], float(f[3])
    rows[(name, lat, tool)].append(t)
    if tool == "ours":
        rss[name] = max(rss[name], int(f[4]))
    if tool == "rerun":
        rerun[(name, lat)].append((int(f[5]), int(f[6])))
    elif len(f) >= 7:
        cpu[(name, lat, tool)].append(float(f[5]))
        sim[(name, lat, tool)].append(float(f[6]))
def med(d, k):
    v = d.get(k)
    return statistics.median(v) if v else float("nan")
sessions = {"small": "1,000 files x 256 KiB", "large": "1 GiB in 1,000 files"}
lats = sorted({k[1] for k in rows})
for name, desc in sessions.items():
    if not any(k[0] == name for k in rows):
        continue
    n = len(rows[(name, lats[0], "ours")])
    print(f"\n{desc} (10 scans), median of {n} runs, seconds")
    print("| latency | ours | python | curl (10 zips) | ours/python | ours/ours@0 | re-run (requests, transfers) |")
    print("|---|---|---|---|---|---|---|")
    zero = med(rows, (name, 0, "ours"))
    for lat in lats:
        o, p, c = (med(rows, (name, lat, t)) for t in ("ours", "python", "curl"))
        rr = med(rows, (name, lat, "rerun"))
        reqs = rerun[(name, lat)][0] if rerun[(name, lat)] else ("?", "?")
        print(f"| {lat} ms | {o:.2f} | {p:.2f} | {c:.2f} | {o/p:.2f} | {o/zero:.2f} | {rr:.2f} s ({reqs[1]}, {reqs[0]}) |")
    print(f"peak RSS (ours): {rss[name]/1024:.1f} MiB")
    print("CPU seconds (user+sys, median), the tool + the simulator meanwhile:")
    for lat in lats:
        cells = [f"{t} {med(cpu, (name, lat, t)):.2f} + {med(sim, (name, lat, t)):.2f}" for t in ("ours", "python", "curl")]
        print(f"  {lat} ms: " + ", ".join(cells))
PY
