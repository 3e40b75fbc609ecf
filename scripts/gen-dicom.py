#!/usr/bin/env python3
"""Valid DICOM Part 10 files for the benchmarks: Explicit VR Little Endian MR, one study, written
by a tiny encoder so a benchmark needs nothing beyond python3.

    scripts/gen-dicom.py OUT COUNT SIDE ROOT [SERIES]

COUNT files of SIDE x SIDE 16-bit pixels (SIDE 512 gives 512 KiB) under OUT/series<k>/, spread
over SERIES series (default 4); every UID starts with ROOT, so two sets with different roots are
two studies. The files carry the identifying attributes an anonymizer removes (patient name, ID,
birth date, institution).
"""
import os
import struct
import sys

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


def us(v):
    return struct.pack("<H", v)


def main(out, n, side, root, nseries=4):
    mr = "1.2.840.10008.5.1.4.1.1.4"
    pixels = bytes((i * 7) % 251 for i in range(side * side * 2))
    for i in range(n):
        series = i % nseries + 1
        sop = f"{root}.3.{side}.{i + 1}"
        meta_body = (el(2, 1, "OB", b"\0\1") + el(2, 2, "UI", mr) + el(2, 3, "UI", sop)
                     + el(2, 0x10, "UI", "1.2.840.10008.1.2.1") + el(2, 0x12, "UI", f"{root}.9"))
        meta = el(2, 0, "UL", struct.pack("<I", len(meta_body))) + meta_body
        ds = b"".join([
            el(8, 0x16, "UI", mr), el(8, 0x18, "UI", sop),
            el(8, 0x20, "DA", "20240115"), el(8, 0x30, "TM", "093000"), el(8, 0x50, "SH", "BENCH1"),
            el(8, 0x60, "CS", "MR"), el(8, 0x80, "LO", "Bench Hospital"), el(8, 0x1030, "LO", "Bench MR"),
            el(8, 0x103E, "LO", f"series {series}"), el(0x10, 0x10, "PN", "Bench^Patient"),
            el(0x10, 0x20, "LO", "BENCH"), el(0x10, 0x30, "DA", "19700101"),
            el(0x20, 0xD, "UI", f"{root}.1"), el(0x20, 0xE, "UI", f"{root}.2.{series}"),
            el(0x20, 0x10, "SH", "1"), el(0x20, 0x11, "IS", str(series)),
            el(0x20, 0x13, "IS", str(i // nseries + 1)),
            el(0x28, 2, "US", us(1)), el(0x28, 4, "CS", "MONOCHROME2"), el(0x28, 0x10, "US", us(side)),
            el(0x28, 0x11, "US", us(side)), el(0x28, 0x100, "US", us(16)), el(0x28, 0x101, "US", us(12)),
            el(0x28, 0x102, "US", us(11)), el(0x28, 0x103, "US", us(0)), el(0x7FE0, 0x10, "OW", pixels),
        ])
        d = os.path.join(out, f"series{series}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{i + 1:05d}.dcm"), "wb") as f:
            f.write(b"\0" * 128 + b"DICM" + meta + ds)


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) not in (4, 5):
        sys.exit(__doc__)
    main(a[0], int(a[1]), int(a[2]), a[3], *(int(x) for x in a[4:]))
