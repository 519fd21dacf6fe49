"""The whole test suite, many times in a row, while the inbox benchmark loads the machine beside it: the proof
that no test depends on a quiet machine (a flaky test shows up here long before it shows up in CI).

    .venv/bin/python bench/suite_under_load.py             # 20 runs of `pytest -n auto`
    SUITE_RUNS=3 .venv/bin/python bench/suite_under_load.py -k mail   # extra arguments go to pytest

Each run is the README's test command; `bench/inbox_ingest.py` runs again and again beside it (each of its runs
bounded in count and time, all on loopback), stopped when the suite run ends. It stops at the first failing
run and exits 1; every run is capped at SUITE_RUN_CAP seconds (a hung run counts as a failure). It prints one
line per run (passed, seconds, load average) and a summary. Like every script here, it decides no test's
pass or fail: it only runs them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("SUITE_RUNS", "20"))
RUN_CAP = float(os.environ.get("SUITE_RUN_CAP", "1800"))
LOAD_N = os.environ.get("SUITE_LOAD_N", "2000")  # activities per ingest round beside the suite


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_load() -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_N": LOAD_N, "BENCH_ROUNDS": "1"}
    # A shell loop, so the load never pauses between benchmark runs; its own process group, so that stopping
    # it stops the benchmark it is running too.
    loop = f'while true; do "{sys.executable}" bench/inbox_ingest.py >/dev/null 2>&1; done'
    return subprocess.Popen(["sh", "-c", loop], cwd=ROOT, env=env, start_new_session=True)


def stop_load(load: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(load.pid, 15)
    except ProcessLookupError:
        return
    load.wait(timeout=30)


def main() -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto", *sys.argv[1:]]
    print(f"command: {' '.join(['python', *command[1:]])}")
    print(f"beside it: BENCH_N={LOAD_N} BENCH_ROUNDS=1 python bench/inbox_ingest.py, in a loop")
    durations: list[float] = []
    for run in range(1, RUNS + 1):
        load = start_load()
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_CAP)
            output, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as expired:
            output, code = str(expired.stdout or "") + f"\nrun capped at {RUN_CAP:g} s", -1
        finally:
            stop_load(load)
        seconds = time.monotonic() - started
        summary = next((line for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed)", line)),
                       output.splitlines()[-1] if output else "(no output)")  # fmt: skip
        print(f"run {run}/{RUNS}: exit {code} in {seconds:.0f} s, load {load_average()}: {summary.strip('= ')}",
              flush=True)  # fmt: skip
        if code != 0:
            print(output[-20000:])
            print(f"stopped: run {run} failed after {run - 1} passing runs in a row")
            return 1
        durations.append(seconds)
    print(f"all {RUNS} runs passed in a row; {min(durations):.0f}-{max(durations):.0f} s each, "
          f"{sum(durations) / 60:.0f} min in all")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
