#!/usr/bin/env bash
# Requests per list/show command against one project of 200 subjects x 2 sessions (issue 10):
# a real XNAT answers each request in tens to hundreds of milliseconds, so a command's request
# count is its speed on a real site. Every command runs against the same simulator, ours and
# (when installed) the Python reference, and the script prints one tab-separated row per command:
#   <ours>\t<python>\t<command>
# ("-" where the reference has no such command or it failed; the failure goes to stderr).
#   scripts/audit-requests.sh                         # ours = target/debug/xnatctl
#   XNATCTL=/tmp/old-xnatctl scripts/audit-requests.sh  # another build of ours
#   XNATCTL_PY=none scripts/audit-requests.sh           # ours only
#   VERBOSE=1 scripts/audit-requests.sh                 # also print each command's requests
#   LATENCY=30 RUNS=10 scripts/audit-requests.sh        # also the median wall seconds of each
#                                                       # command at 30 ms per request:
#   <ours>\t<python>\t<ours s>\t<python s>\t<command>
# docs/requests.md holds the table this prints.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18766}
url="http://127.0.0.1:$port"
bin=${XNATCTL:-target/debug/xnatctl}
py=${XNATCTL_PY:-/work/venv/bin/xnatctl}
[ -x "$py" ] || py=""
[ -n "${XNATCTL:-}" ] || cargo build -q -p xnatctl -p xnat-sim
work=$(mktemp -d)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
target/debug/xnat-sim --listen "127.0.0.1:$port" \
  --generate "projects=1,subjects=200,sessions=2,scans=3,files=2,file-size=1024" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null -u admin:admin "$url/data/version" && break; sleep 0.1; done

export XNAT_URL="$url" XNAT_USER=admin XNAT_PASS=admin HOME="$work/home" NO_COLOR=1
mkdir -p "$work/home"
p=GEN00001
api() { curl -sf -u admin:admin "$@"; }
first() { python3 -c "import json,sys; print(json.load(sys.stdin)['ResultSet']['Result'][0]['$1'])"; }
e=$(api "$url/data/projects/$p/experiments?format=json" | first ID)
elabel=$(api "$url/data/projects/$p/experiments?format=json" | first label)
s=$(api "$url/data/projects/$p/subjects?format=json" | first label)
# A session in the prearchive, a saved search, a subject resource with a file.
printf 'hello\n' >"$work/notes.txt"
api -X PUT "$url/data/projects/$p/subjects/$s/resources/NOTES/files/notes.txt?inbody=true" \
  --data-binary @"$work/notes.txt" >/dev/null

count_one() { # <binary> <args...> -> "<requests> <seconds>", or "- -" when the command failed
  local b=$1
  shift
  curl -sf -X DELETE "$url/__sim/requests" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  if "$b" "$@" >"$work/out" 2>"$work/err"; then
    t1=$(date +%s.%N)
    curl -sf "$url/__sim/requests" >"$work/req.json"
    echo "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/req.json") $(python3 -c "print(f'{$t1-$t0:.3f}')")"
    if [ -n "${VERBOSE:-}" ]; then
      python3 -c '
import json,sys
for r in json.load(open(sys.argv[1])):
    print("    ", r["status"], r["method"], r["path"] + ("?" + r["query"] if r.get("query") else ""), file=sys.stderr)
' "$work/req.json"
    fi
  else
    echo "  ($(basename "$b") $*: exit $?: $(head -c 300 "$work/err" | tr '\n' ' '))" >&2
    echo "- -"
  fi
}
median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:] if x!="-"]; print(f"{statistics.median(v):.2f}" if v else "-")' "$@"; }
count() {
  local ours=- theirs=- n s ot=() tt=()
  for _ in $(seq "${RUNS:-1}"); do
    read -r n s < <(count_one "$bin" "$@")
    ours=$n
    ot+=("$s")
    if [ -n "$py" ]; then
      read -r n s < <(count_one "$py" "$@")
      theirs=$n
      tt+=("$s")
    fi
  done
  if [ -n "${LATENCY:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$ours" "$theirs" "$(median "${ot[@]}")" \
      "$(if [ -n "$py" ]; then median "${tt[@]}"; else echo -; fi)" "$*"
  else
    printf '%s\t%s\t%s\n' "$ours" "$theirs" "$*"
  fi
}
if [ -n "${LATENCY:-}" ]; then
  curl -sf -X POST --data "path=*,latency-ms=$LATENCY,count=*" "$url/__sim/faults" >/dev/null
  echo "latency ${LATENCY} ms per request, ${RUNS:-1} runs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi
count project list
count project show "$p"
count project users "$p"
count subject list -P "$p"
count subject show "$s" -P "$p"
count session list -P "$p"
count session list -P "$p" -S "$s"
count session list
count session show -E "$e"
count session show -E "$elabel" -P "$p"
count scan list -E "$e"
count scan list -E "$elabel" -P "$p"
count scan show 1 -E "$e"
count resource list "$e"
count resource list "$e" --scan 1
count resource list -P "$p"
count resource list -P "$p" -S "$s"
count resource show "$e" DICOM --scan 1
count prearchive list
count prearchive list -P "$p"
count search list
count vars export -P "$p" --level subject --out "$work/vars-subject.csv"
count vars export -P "$p" --level session --out "$work/vars-session.csv"
count admin user list
count admin user show admin
count auth token list
count command list
count container list
count event list
count scp list
count wrapper list
count xsync list
count whoami
count -o json session download -E "$e" --out "$work/dl"
count -o json session download -E "$e" --out "$work/dl"
