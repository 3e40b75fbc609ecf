#!/usr/bin/env bash
# Browse benchmark (issue 4): `xnatctl project list` against a simulator holding 10 000 projects,
# as JSON and as a table. Prints median wall time and peak RSS (hyperfine for the wall time when
# installed, else repeated /usr/bin/time runs via scripts/benchlib.py), and the ratio to the
# Python xnatctl 0.6.0 when XNATCTL_PY points at it.
#   XNATCTL_PY=/path/to/python/xnatctl scripts/bench-browse.sh [RUNS]
# Targets: json <= 1/20 of 0.59 s with RSS <= 18 MiB; table <= 1/50 of 4.5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
cargo build --release -q -p xnatctl -p xnat-sim
bin=$PWD/target/release/xnatctl
sim=$PWD/target/release/xnat-sim

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$sim" --listen "127.0.0.1:$port" --generate projects=10000 >"$work/sim.log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/__sim/health" >/dev/null 2>&1 && break
  sleep 0.1
done

export HOME="$work" XDG_CONFIG_HOME="$work/.config" XNAT_URL="http://127.0.0.1:$port" \
  XNAT_USER=admin XNAT_PASS=admin NO_COLOR=1
count=$("$bin" project list -q | wc -l)
echo "simulator: $count projects visible"
[ "$count" -ge 10000 ] || echo "warning: expected 10000 projects; is --generate implemented in xnat-sim?"

measure() { # label, target_seconds, rss_limit_mib (0 = none), command...
  local label=$1 target=$2 rss_limit=$3; shift 3
  local r
  r=$(python3 scripts/benchlib.py "$runs" -- "$@")
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 2 -r "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1 || true
    r=$(python3 - "$r" "$work/h.json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
try:
    r["median_s"] = json.load(open(sys.argv[2]))["results"][0]["median"]
except Exception:
    pass
print(json.dumps(r))
PY
)
  fi
  python3 - "$label" "$target" "$rss_limit" "$r" <<'PY'
import json, sys
label, target, rss_limit, r = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
ms, mib = r["median_s"] * 1000, r["peak_rss_kib"] / 1024
print(f"{label}: median {ms:.1f} ms, peak RSS {mib:.1f} MiB ({r['runs']} runs)")
print(f"  wall <= {target*1000:.0f} ms: {'yes' if r['median_s'] <= target else 'NO'}")
if rss_limit > 0:
    print(f"  peak RSS <= {rss_limit:.0f} MiB: {'yes' if mib <= rss_limit else 'NO'}")
PY
  echo "$r" >"$work/last.json"
}

measure "project list -o json" "$(python3 -c 'print(0.59/20)')" 18 "$bin" project list -o json
cp "$work/last.json" "$work/rs_json.json"
measure "project list (table)" "$(python3 -c 'print(4.5/50)')" 0 "$bin" project list
cp "$work/last.json" "$work/rs_table.json"

py=${XNATCTL_PY:-}
if [ -n "$py" ] && [ -x "$py" ]; then
  pruns=$(( runs < 5 ? runs : 5 ))
  for kind in json table; do
    if [ "$kind" = json ]; then args=(project list -o json); else args=(project list); fi
    p=$(python3 scripts/benchlib.py "$pruns" -- "$py" "${args[@]}")
    python3 - "$kind" "$(cat "$work/rs_$kind.json")" "$p" <<'PY'
import json, sys
kind, r, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"python project list ({kind}): median {p['median_s']*1000:.0f} ms, peak RSS {p['peak_rss_kib']/1024:.1f} MiB")
print(f"  wall ratio rust/python = 1/{p['median_s']/r['median_s']:.0f}")
PY
  done
else
  echo "(set XNATCTL_PY to the Python xnatctl to print the ratios)"
fi
