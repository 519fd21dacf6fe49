"""Run every benchmark, each as a subprocess with its own time cap; the whole suite stays under 17 minutes.

    .venv/bin/python bench/run_all.py            # all six
    .venv/bin/python bench/run_all.py pages      # only those named

Sizes are overridable by environment variables (BENCH_N, BENCH_FANOUT_FOLLOWERS, BENCH_PAGES_N, BENCH_VOTES,
...; see each script). Loopback only. Benchmarks print figures; they never pass or fail a test.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# (script, cap in seconds): the caps add up to about 17 minutes; a quiet run takes about 6, a loaded one 10.
SUITE = [
    ("inbox_ingest.py", 80),
    ("fan_out.py", 60),
    ("pages.py", 80),
    ("memory_startup.py", 60),
    ("vote_storm.py", 80),
    ("viral_hour.py", 600),
]


def main() -> int:
    wanted = set(sys.argv[1:])
    failures = 0
    suite_started = time.monotonic()
    for script, cap in SUITE:
        if wanted and script.removesuffix(".py") not in wanted:
            continue
        print(f"== {script} (cap {cap} s)", flush=True)
        started = time.monotonic()
        try:
            result = subprocess.run([sys.executable, str(BENCH_DIR / script)], timeout=cap, check=False)
            if result.returncode != 0:
                failures += 1
                print(f"{script.removesuffix('.py')}_error: exit status {result.returncode}", flush=True)
        except subprocess.TimeoutExpired:
            failures += 1
            print(f"{script.removesuffix('.py')}_error: stopped at the {cap} s cap", flush=True)
        print(f"{script.removesuffix('.py')}_wall: {time.monotonic() - started:.1f} s", flush=True)
    print(f"suite_wall: {time.monotonic() - suite_started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
