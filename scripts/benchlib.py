#!/usr/bin/env python3
"""Tiny benchmark helper shared by the scripts/bench-*.sh scripts.

Runs a command N times and prints its median wall time and peak RSS (via GNU time), as JSON, so
the shell scripts can compare xnatctl with the Python tool without extra dependencies.

usage: benchlib.py RUNS -- CMD [ARGS...]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def measure(cmd, runs):
    walls, rss = [], []
    for _ in range(runs):
        with tempfile.NamedTemporaryFile("r") as tf:
            start = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            walls.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
            lines = [l for l in tf.read().splitlines() if l.strip().isdigit()]
            rss.append(int(lines[-1]) if lines else 0)
    return {
        "runs": runs,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "peak_rss_kib": max(rss),
    }


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    print(json.dumps(measure(sys.argv[3:], runs)))


if __name__ == "__main__":
    main()
