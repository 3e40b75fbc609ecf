#!/usr/bin/env bash
# Start-up benchmark (issue 2): median wall time and peak memory of `xnatctl --version`,
# and the ratio to the Python xnatctl 0.6.0 when it is installed.
#   XNATCTL_PY=/path/to/python/xnatctl scripts/bench-startup.sh [RUNS]
# Targets: median wall <= 1/100 of the Python tool's, peak RSS <= 10 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
cargo build --release -q -p xnatctl
bin=target/release/xnatctl
rs=$(python3 scripts/benchlib.py "$runs" -- "$bin" --version)
python3 - "$rs" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"xnatctl --version: median {r['median_s']*1000:.2f} ms, peak RSS {r['peak_rss_kib']/1024:.1f} MiB ({r['runs']} runs)")
ok = r["peak_rss_kib"] <= 10 * 1024
print(f"  peak RSS <= 10 MiB: {'yes' if ok else 'NO'}")
PY
py=${XNATCTL_PY:-$(command -v xnatctl-py || true)}
if [ -n "$py" ] && [ -x "$py" ]; then
  pyr=$(python3 scripts/benchlib.py "$(( runs < 10 ? runs : 10 ))" -- "$py" --version)
  python3 - "$rs" "$pyr" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"python xnatctl --version: median {p['median_s']*1000:.1f} ms, peak RSS {p['peak_rss_kib']/1024:.1f} MiB")
ratio = r["median_s"] / p["median_s"]
print(f"  wall ratio rust/python = 1/{1/ratio:.0f} (target <= 1/100: {'yes' if ratio <= 0.01 else 'NO'})")
PY
else
  echo "(set XNATCTL_PY to the Python xnatctl to print the ratio)"
fi
