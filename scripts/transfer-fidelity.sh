#!/usr/bin/env bash
# Copy the same project with the Python reference's `project transfer` and with ours, between
# two simulators, and compare the destination projects (sessions, subjects, scans, file counts).
#
#   cargo build --workspace && scripts/transfer-fidelity.sh
#
# Needs the reference at $PY_XNATCTL (default /work/venv/bin/xnatctl) and pydicom in its Python.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
XNATCTL=${XNATCTL:-$root/target/debug/xnatctl}
XNAT_SIM=${XNAT_SIM:-$root/target/debug/xnat-sim}
PY_XNATCTL=${PY_XNATCTL:-/work/venv/bin/xnatctl}
PY=$(dirname "$PY_XNATCTL")/python
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$PY" - "$work/dicom" <<'PYEOF'
import os, sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
for s in (1, 2):
    for e in (1, 2):
        study = generate_uid(); d = os.path.join(out, f"S{s:02d}_MR{e}"); os.makedirs(d)
        for sc in (1, 2, 3):
            series = generate_uid()
            for i in range(1, 5):
                m = FileMetaDataset(); sop = generate_uid()
                m.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
                m.MediaStorageSOPInstanceUID = sop; m.TransferSyntaxUID = ExplicitVRLittleEndian
                ds = Dataset(); ds.file_meta = m
                ds.SOPClassUID = m.MediaStorageSOPClassUID; ds.SOPInstanceUID = sop
                ds.PatientID = ds.PatientName = f"S{s:02d}"; ds.StudyInstanceUID = study
                ds.SeriesInstanceUID = series; ds.StudyDate = "20240115"; ds.Modality = "MR"
                ds.SeriesNumber = sc; ds.InstanceNumber = i; ds.SeriesDescription = f"series {sc}"
                ds.Rows = ds.Columns = 64; ds.BitsAllocated = ds.BitsStored = 16; ds.HighBit = 15
                ds.PixelRepresentation = 0; ds.SamplesPerPixel = 1
                ds.PhotometricInterpretation = "MONOCHROME2"; ds.PixelData = os.urandom(64 * 64 * 2)
                ds.save_as(os.path.join(d, f"{sc}_{i}.dcm"), enforce_file_format=True)
PYEOF

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
src=$(port); dst=$(port)
"$XNAT_SIM" --listen "127.0.0.1:$src" >"$work/src.log" 2>&1 & pids+=($!)
"$XNAT_SIM" --listen "127.0.0.1:$dst" >"$work/dst.log" 2>&1 & pids+=($!)
sleep 1
export HOME=$work/home XNAT_USER=admin XNAT_PASS=admin
mkdir -p "$HOME"
S=http://127.0.0.1:$src D=http://127.0.0.1:$dst
XNAT_URL=$S "$XNATCTL" project create SRC -q
XNAT_URL=$D "$XNATCTL" project create OURS -q
XNAT_URL=$D "$XNATCTL" project create THEIRS -q
for d in "$work"/dicom/*; do
  n=$(basename "$d")
  XNAT_URL=$S "$XNATCTL" session upload "$d" -P SRC -S "${n%_MR*}" -E "$n" -q >/dev/null
done

echo admin | XNAT_URL=$S "$XNATCTL" project transfer -P SRC --dest-project OURS \
  --dest-url "$D" --dest-user admin --dest-pass-stdin -y -q
echo admin | XNAT_URL=$S HOME=$work/pyhome "$PY_XNATCTL" project transfer -P SRC --dest-project THEIRS \
  --dest-url "$D" --dest-user admin --dest-pass-stdin -y -q >/dev/null 2>&1

# label, subject, modality, then per scan: id, type and file count.
state() {
  local p=$1
  XNAT_URL=$D "$XNATCTL" session list -P "$p" -o tsv --no-headers | cut -f2,3,5 | sort |
  while IFS=$'\t' read -r label subject modality; do
    printf '%s %s %s:' "$label" "$subject" "$modality"
    XNAT_URL=$D "$XNATCTL" scan list -E "$label" -P "$p" -o tsv --no-headers | cut -f1,2 | sort |
    while IFS=$'\t' read -r id type; do
      n=$(XNAT_URL=$D "$XNATCTL" resource show "$label" DICOM --scan "$id" -P "$p" -o json 2>/dev/null |
          "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("file_count", "?"))' 2>/dev/null || echo "?")
      printf ' %s/%s/%s' "$id" "$type" "$n"
    done
    echo
  done
}
mkdir -p "$work/home"
diff <(state OURS) <(state THEIRS) && echo "same destination state:" && state OURS
