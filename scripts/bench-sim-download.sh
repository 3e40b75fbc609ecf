#!/usr/bin/env bash
# Simulator archive streaming benchmark: one generated session of ~1 GiB across 1,000 files,
# downloaded as a whole-session zip with curl to /dev/null over loopback (release build).
# Prints throughput in MB/s and the simulator's peak RSS (VmHWM from /proc/<pid>/status).
#   scripts/bench-sim-download.sh                     # 1000 files x 1073742 bytes (~1 GiB)
#   FILES=100 SIZE=1048576 FORMAT=tar scripts/bench-sim-download.sh
# Targets: >= 500 MB/s, simulator peak RSS < 100 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-1000}
size=${SIZE:-1073742}
format=${FORMAT:-zip}
port=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
url="http://127.0.0.1:$port"

cargo build --release -q -p xnat-sim
sim_pid=""
cleanup() { if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

target/release/xnat-sim --listen "127.0.0.1:$port" \
  --generate "projects=1,subjects=1,sessions=1,scans=1,files=$files,file-size=$size" \
  >/dev/null 2>&1 &
sim_pid=$!
# Generation hashes every distinct file once: large sets take a while to come up.
up=""
for _ in $(seq 1200); do
  if ! kill -0 "$sim_pid" 2>/dev/null; then echo "simulator exited" >&2; exit 1; fi
  curl -sf -o /dev/null "$url/__sim/health" && { up=1; break; }
  sleep 0.1
done
[ -n "$up" ] || { echo "simulator did not come up on $url" >&2; exit 1; }

path="/data/projects/GEN00001/experiments/GEN00001_S0001_MR1/scans/ALL/files?format=$format"
echo "sim pid $sim_pid, RSS before: $(awk '/VmRSS/ {print $2, $3}' "/proc/$sim_pid/status")"
read -r bytes secs code < <(curl -s -u admin:admin -o /dev/null \
  -w '%{size_download} %{time_total} %{http_code}\n' "$url$path")
if [ "$code" != "200" ]; then
  echo "download failed: HTTP $code" >&2
  exit 1
fi
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$sim_pid/status")
python3 - "$bytes" "$secs" "$hwm_kib" "$format" <<'PY'
import sys
b, s, hwm, fmt = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"archive ({fmt}): {b/2**30:.3f} GiB in {s:.2f} s = {b/s/1e6:.0f} MB/s")
print(f"simulator peak RSS (VmHWM): {hwm/1024:.1f} MiB")
PY
