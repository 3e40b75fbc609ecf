#!/usr/bin/env bash
# Download benchmark (issue 5): `xnatctl session download --workers 4` against curl fetching the
# session's scan archives in parallel, from a local simulator; wall time, throughput and peak RSS.
#   scripts/bench-download.sh            # 10 scans x 100 files x 1 MiB = 1 GiB
#   SCANS=10 FILES=1000 SIZE=1048576 scripts/bench-download.sh   # 10 GiB
#   XNATCTL_PY=/path/to/python/xnatctl scripts/bench-download.sh  # adds the Python tool
# Targets: xnatctl throughput >= 90% of curl's, peak RSS <= 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
scans=${SCANS:-10}
files=${FILES:-100}
size=${SIZE:-1048576}
workers=${WORKERS:-4}
port=${PORT:-18765}
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
  --generate "projects=1,subjects=1,sessions=1,scans=$scans,files=$files,file-size=$size" \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$url/data/version" -u admin:admin && break; sleep 0.1; done

total=$((scans * files * size))
echo "data: $scans scans x $files files x $size bytes = $(python3 -c "print(f'{$total/2**30:.2f}')") GiB"

# Run "$@" under /usr/bin/time; print "<seconds> <peak RSS KiB>".
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
    cat "$work/err" >&2
    return 1
  }
  cat "$work/time"
}

export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home"
mkdir -p "$work/home"

rm -rf "$work/rs"
read -r rs_s rs_kib < <(measure target/release/xnatctl -q session download -E XNAT_E00001 \
  --out "$work/rs" --workers "$workers")
got=$(find "$work/rs" -type f | wc -l)

cat >"$work/curl.sh" <<SH
set -e
mkdir -p "$work/curl"
for s in \$(seq $scans); do
  curl -sf -u admin:admin -o "$work/curl/scan\$s.zip" "$url/data/experiments/XNAT_E00001/scans/\$s/files?format=zip" &
done
for j in \$(jobs -p); do wait "\$j"; done
SH
read -r curl_s curl_kib < <(measure bash "$work/curl.sh")
curl_bytes=$(cat "$work"/curl/*.zip | wc -c)
echo "curl fetched $curl_bytes bytes in $scans archives"

# Resume: everything present, nothing should be fetched.
read -r re_s re_kib < <(measure target/release/xnatctl -q session download -E XNAT_E00001 \
  --out "$work/rs" --workers "$workers")

python3 - "$total" "$rs_s" "$rs_kib" "$curl_s" "$curl_kib" "$got" "$((scans * files))" "$re_s" <<'PY'
import sys
total, rs_s, rs_kib, curl_s, curl_kib, got, want, re_s = sys.argv[1:]
total = int(total); rs_s, curl_s, re_s = float(rs_s), float(curl_s), float(re_s)
mib = 2 ** 20
rs_tp, curl_tp = total / mib / max(rs_s, 1e-3), total / mib / max(curl_s, 1e-3)
print(f"xnatctl session download: {rs_s:.2f} s, {rs_tp:.0f} MiB/s, peak RSS {int(rs_kib)/1024:.1f} MiB, {got}/{want} files")
print(f"curl (parallel scan zips): {curl_s:.2f} s, {curl_tp:.0f} MiB/s")
print(f"xnatctl re-run (resume, all present): {re_s:.2f} s")
ratio = rs_tp / curl_tp
print(f"throughput xnatctl/curl = {ratio:.2f} (target >= 0.90: {'yes' if ratio >= 0.9 else 'NO'})")
print(f"peak RSS <= 64 MiB: {'yes' if int(rs_kib) <= 64 * 1024 else 'NO'}")
PY

py=${XNATCTL_PY:-}
if [ -n "$py" ] && [ -x "$py" ]; then
  read -r py_s py_kib < <(measure "$py" session download -E XNAT_E00001 --out "$work/py" --workers "$workers")
  python3 -c "import sys; t=$total/2**20; print(f'python xnatctl: {$py_s:.2f} s, {t/max($py_s,1e-3):.0f} MiB/s, peak RSS {$py_kib/1024:.1f} MiB; rust/python speed-up {$py_s/max($rs_s,1e-3):.1f}x')"
else
  echo "(set XNATCTL_PY to the Python xnatctl to compare with it)"
fi
