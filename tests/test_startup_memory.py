"""What a serving process loads before anyone asks for anything: libraries that only a rare request needs are
imported by that request, because a group's server runs on the smallest machine it can get (the viral-hour
budget is 100 MB a process; these four were 10 MB of it at start, bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys

# The library, and what needs it: none of these is touched by the pages and activities of an ordinary day.
LOADED_WHEN_ASKED = {
    "pyld": "a document in expanded or prefixed JSON-LD (protocol/jsonld.py)",
    "lxml": "pyld",
    "icalendar": "a calendar file (protocol/gatherings.py, ui/feeds.py)",
    "prometheus_client": "a scrape of /metrics, when turned on (ui/health.py)",
    "segno": "enrolling in two-factor sign-in (ui/two_factor.py)",
}


def test_starting_the_server_loads_no_library_only_a_rare_request_needs() -> None:
    # A fresh interpreter: this test process has long imported everything the other tests use.
    script = (
        "import sys, fedgroup.cli.server, fedgroup.app\n"
        f"print(' '.join(sorted(n for n in {sorted(LOADED_WHEN_ASKED)!r} if n in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = done.stdout.split()
    assert loaded == [], {name: LOADED_WHEN_ASKED[name] for name in loaded}
