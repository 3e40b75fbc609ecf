#!/usr/bin/env bash
# Browse benchmark (issue 4): `xnatctl project list` against a simulator holding 10 000 projects,
# as JSON and as a table, logged in through `auth login` (cached session). Prints the median and
# the minimum wall time and the peak RSS of each (hyperfine's median when installed, else repeated
# /usr/bin/time runs via scripts/benchlib.py), the simulator's own time for the listing (curl),
# the `health ping` and `--version` baselines, and, when XNATCTL_PY points at the Python
# xnatctl 0.6.0, its numbers and the ratios against the targets:
#   json:  wall <= 1/20 of Python's, peak RSS <= 1/4 of Python's
#   table: wall <= 1/50 of Python's
#   simulator: the whole listing in <= 5 ms
# Without XNATCTL_PY the targets fall back to the Python numbers measured for issue 4
# (json 470 ms / 69 MiB, table 2.79 s).
#   XNATCTL_PY=/work/pyref/bin/xnatctl scripts/bench-browse.sh [RUNS]   (RUNS >= 10 advised)
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
"$bin" auth login >/dev/null 2>&1 || echo "warning: auth login failed; measuring with Basic auth"
count=$("$bin" project list -q | wc -l)
echo "simulator: $count projects visible"
[ "$count" -ge 10000 ] || echo "warning: expected 10000 projects; is --generate implemented in xnat-sim?"

# The simulator alone: the full listing the way xnatctl asks for it, without paging.
url="$XNAT_URL/data/projects?format=json&columns=ID,name,pi_lastname,description"
for _ in $(seq "$runs"); do
  curl -s -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}\n' -u admin:admin "$url"
done >"$work/curl.txt"
python3 - "$work/curl.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
first = [float(r[0]) * 1000 for r in rows]
total = [float(r[1]) * 1000 for r in rows]
med = statistics.median(total)
print(f"simulator listing ({int(rows[0][2]) / 1e6:.2f} MB): first byte median "
      f"{statistics.median(first):.1f} ms, total median {med:.1f} ms (min {min(total):.1f} ms)")
print(f"  <= 5 ms: {'yes' if med <= 5 else 'NO'}")
PY

measure() { # label, output json file, command...
  local label=$1 dest=$2; shift 2
  local r
  "$@" >/dev/null 2>&1 || true # warm the page cache
  r=$(python3 scripts/benchlib.py "$runs" -- "$@")
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 2 -r "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1 || true
    r=$(python3 - "$r" "$work/h.json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
try:
    h = json.load(open(sys.argv[2]))["results"][0]
    r["median_s"], r["min_s"] = h["median"], h["min"]
except Exception:
    pass
print(json.dumps(r))
PY
)
  fi
  echo "$r" >"$dest"
  python3 - "$label" "$r" <<'PY'
import json, sys
label, r = sys.argv[1], json.loads(sys.argv[2])
print(f"{label}: median {r['median_s']*1000:.1f} ms (min {r['min_s']*1000:.1f} ms), "
      f"peak RSS {r['peak_rss_kib']/1024:.1f} MiB ({r['runs']} runs)")
PY
}

measure "xnatctl project list -o json" "$work/rs_json.json" "$bin" project list -o json
measure "xnatctl project list (table)" "$work/rs_table.json" "$bin" project list
measure "xnatctl health ping" "$work/rs_ping.json" "$bin" health ping
measure "xnatctl --version" "$work/rs_version.json" "$bin" --version

py=${XNATCTL_PY:-}
if [ -n "$py" ] && [ -x "$py" ]; then
  pruns=$(( runs < 5 ? runs : 5 ))
  "$py" auth login >/dev/null 2>&1 || true
  python3 scripts/benchlib.py "$pruns" -- "$py" project list -o json >"$work/py_json.json"
  python3 scripts/benchlib.py "$pruns" -- "$py" project list >"$work/py_table.json"
else
  echo "(set XNATCTL_PY to the Python xnatctl to measure it; using the issue's numbers)"
  echo '{"runs": 0, "median_s": 0.470, "min_s": 0.470, "peak_rss_kib": 70656}' >"$work/py_json.json"
  echo '{"runs": 0, "median_s": 2.79, "min_s": 2.79, "peak_rss_kib": 0}' >"$work/py_table.json"
fi
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
load = lambda n: json.load(open(f"{w}/{n}.json"))
for kind, wall_div, rss_div in (("json", 20, 4), ("table", 50, 0)):
    r, p = load(f"rs_{kind}"), load(f"py_{kind}")
    src = "measured" if p["runs"] else "issue 4"
    print(f"python project list ({kind}, {src}): median {p['median_s']*1000:.0f} ms, "
          f"peak RSS {p['peak_rss_kib']/1024:.1f} MiB")
    ratio = p["median_s"] / r["median_s"]
    ok = r["median_s"] <= p["median_s"] / wall_div
    print(f"  wall ratio rust/python = 1/{ratio:.0f} (target 1/{wall_div}, "
          f"<= {p['median_s']*1000/wall_div:.0f} ms): {'yes' if ok else 'NO'}")
    if rss_div and p["peak_rss_kib"]:
        rr = p["peak_rss_kib"] / r["peak_rss_kib"]
        ok = r["peak_rss_kib"] <= p["peak_rss_kib"] / rss_div
        print(f"  RSS ratio rust/python = 1/{rr:.1f} (target 1/{rss_div}, "
              f"<= {p['peak_rss_kib']/1024/rss_div:.1f} MiB): {'yes' if ok else 'NO'}")
PY
