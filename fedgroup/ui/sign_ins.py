"""How sign-in attempts are paced: guessing is slow, and nobody's storm of failures locks a member out.

- **Per name.** Each failure for an account name makes the next attempt for it wait longer (0.5 s, 1 s, 2 s,
  4 s); after `per_name` failures within `window` the name is refused (429) until they age out. Attempts under
  way count too, so a burst of simultaneous guesses cannot slip past the limit before the failures land.
- **Overall.** Failures in all never refuse anyone: beyond `storm` of them in the window every attempt waits a
  little longer, up to `max_delay`, which caps how fast a spray over many names can go.
- **Known browsers.** A browser that signed in as a name carries a cookie saying so (OWASP's "device cookie").
  Its failures count apart from the name's, it skips the storm's wait, and the name's lock does not apply to
  it: an attacker who locks a name out does not lock out its member on the browsers they use.
- **Bounded.** At most `max_pending` attempts from unknown browsers wait or verify at once (503 beyond): each
  holds a connection while it waits. The waits are asynchronous (the server keeps serving) and come before the
  password is checked, so not waiting for answers gains an attacker nothing.

The counts live in memory: a restart forgets them, which only forgives some failures. The rules are pure
functions; SignInGate keeps the counts and does the waiting, with a clock and a sleep given to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from fedgroup.config import share_of
from fedgroup.rules import campaigns

T = TypeVar("T")


@dataclass(frozen=True)
class SignInRules:
    per_name: int = 5  # failures for one name (or one known browser) within `window` before it is refused
    window: float = 900.0  # seconds a failure is remembered
    first_delay: float = 0.5  # the wait after a name's first failure; it doubles with each further one
    storm: int = 20  # failures in all within `window` from which every unknown browser waits
    storm_step: float = 0.05  # seconds more per failure beyond `storm`
    max_delay: float = 5.0
    max_pending: int = 64  # attempts from unknown browsers waiting or verifying at once
    # Names and known browsers whose failures are remembered (the least recently failing are forgotten
    # first). While the storm's wait is at its longest, unknown browsers fail at most
    # max_pending / max_delay = 12.8 times a second, about 11,500 keys per window: far below this, so a spray
    # of names cannot push a name's live failures out.
    max_tracked: int = 50_000

    def shared_by(self, processes: int) -> SignInRules:
        """Each serving process's share (`serve --workers N`: the counts live in each one's memory, and an
        attempt goes to whichever process takes the connection): a name is refused after at most
        `per_name + processes - 1` failures in all, the storm's wait starts after about `storm`."""
        if processes <= 1:
            return self
        return replace(
            self,
            per_name=share_of(self.per_name, processes),
            storm=share_of(self.storm, processes),
            max_pending=share_of(self.max_pending, processes),
        )

    @property
    def storm_saturation(self) -> int:
        """The overall failure count at which the storm's wait reaches max_delay (counting beyond is moot)."""
        return self.storm + math.ceil(self.max_delay / self.storm_step)


def delay_before_check(
    rules: SignInRules, key_failures: int, all_failures: int, known_browser: bool
) -> float:
    """Seconds an attempt waits before its password is checked."""
    by_key = 0.0 if key_failures == 0 else rules.first_delay * 2 ** (key_failures - 1)
    storm = 0.0
    if not known_browser and all_failures >= rules.storm:
        storm = rules.storm_step * (all_failures - rules.storm + 1)
    return min(rules.max_delay, max(by_key, storm))


def name_key(name: str) -> str:
    """One key per account whatever the spelling the database would match (members' names compare
    case-insensitively, after the same clean-up), so case or spacing variants share one count."""
    return "name:" + campaigns.clean_line(name).casefold()


class Refused(Exception):
    """An attempt turned away before its password was checked."""

    def __init__(self, status: int, reason: str, message: str, retry_after: int) -> None:
        super().__init__(reason)
        self.status, self.reason, self.message, self.retry_after = status, reason, message, retry_after


class SignInGate:
    """The counts and the waiting. `clock` gives seconds (any origin), `sleep` waits asynchronously."""

    def __init__(
        self,
        rules: SignInRules | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rules = rules or SignInRules()
        self._clock = clock or time.monotonic
        self._sleep = sleep
        self._failures: OrderedDict[str, list[float]] = OrderedDict()  # key -> its recent failure times
        self._all: deque[float] = deque(maxlen=self.rules.storm_saturation)
        self._in_flight: Counter[str] = Counter()
        self._pending = 0  # unknown browsers' attempts under way

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, ()) if t > now - self.rules.window]
        if key in self._failures:
            if times:
                self._failures[key] = times
            else:
                del self._failures[key]
        return times

    def _all_recent(self, now: float) -> int:
        while self._all and self._all[0] <= now - self.rules.window:
            self._all.popleft()
        return len(self._all)

    def _failed(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times[-self.rules.per_name :]
        self._failures.move_to_end(key)
        while len(self._failures) > self.rules.max_tracked:
            self._failures.popitem(last=False)
        self._all.append(now)

    def admit(self, key: str, known_browser: bool) -> float:
        """Check that an attempt may go ahead (or raise Refused) and reserve its place; returns its wait.
        The caller must call finish() once, whatever happens."""
        now = self._clock()
        failures = self._recent(key, now)
        if len(failures) + self._in_flight[key] >= self.rules.per_name:
            oldest = failures[0] if failures else now
            retry = max(1, math.ceil(oldest + self.rules.window - now))
            minutes = math.ceil(retry / 60)
            raise Refused(
                429,
                "rate-limited",
                f"Too many failed attempts for this name: wait {minutes} minute{'s' if minutes > 1 else ''},"
                " or sign in from a browser you have signed in with here before.",
                retry,
            )
        if not known_browser and self._pending >= self.rules.max_pending:
            raise Refused(503, "busy", "Too many people are signing in right now: try again in a minute.", 60)
        self._in_flight[key] += 1
        if not known_browser:
            self._pending += 1
        return delay_before_check(self.rules, len(failures), self._all_recent(now), known_browser)

    def finish(self, key: str, known_browser: bool, succeeded: bool | None) -> None:
        """Release the attempt's place and count its verdict (None: it reached none, nothing is counted)."""
        self._in_flight[key] -= 1
        if self._in_flight[key] <= 0:
            del self._in_flight[key]
        if not known_browser:
            self._pending -= 1
        if succeeded is True:
            self._failures.pop(key, None)
        elif succeeded is False:
            self._failed(key, self._clock())

    async def attempt(
        self, key: str, known_browser: bool, check: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        """Run `check` (the password verification: None when the password is wrong) under the rules; raises
        Refused. An exception from `check` passes through uncounted: it is no verdict on the password."""
        delay = self.admit(key, known_browser)
        succeeded: bool | None = None
        try:
            if delay > 0:
                await self._sleep(delay)
            result = await check()
            succeeded = result is not None
            return result
        finally:
            self.finish(key, known_browser, succeeded)


# -- known browsers ----------------------------------------------------------------------------------------


def known_browser_token(secret: bytes, key: str) -> str:
    """A cookie value saying "this browser signed in as `key`": a random id and a MAC binding it to the key.
    It grants nothing by itself (the password is still needed); it only keeps the browser's count apart."""
    browser = secrets.token_urlsafe(12)
    return f"{browser}.{_mac(secret, browser, key)}"


def known_browser(secret: bytes, token: str | None, key: str) -> str | None:
    """The browser's id if `token` is a valid known-browser cookie for this key, else None."""
    if not token or len(token) > 100 or "." not in token:
        return None
    browser, mac = token.split(".", 1)
    return browser if hmac.compare_digest(mac, _mac(secret, browser, key)) else None


def browser_key(key: str, browser: str) -> str:
    return f"{key}\0browser:{browser}"


def _mac(secret: bytes, browser: str, key: str) -> str:
    return hmac.new(secret, f"{browser}\0{key}".encode(), hashlib.sha256).hexdigest()[:32]


def secret_from(private_key_pem: str) -> bytes:
    """The MAC key of known-browser cookies, derived from a key the server already keeps secret (so it lasts
    across restarts and backups without one more thing to store)."""
    return hashlib.sha256(b"fedgroup known-browser cookie\0" + private_key_pem.encode()).digest()
