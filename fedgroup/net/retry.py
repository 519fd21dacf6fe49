"""When a queued item that failed is tried again: one policy, as data, for the inbox and the delivery queue.

Exponential backoff with jitter, capped, until a bounded age; then the item is given up (and kept, with its
error, for the operator). Pure: the time and the random source are passed in, so tests need no sleeping.
It lives in net/ beside the delivery worker, its first user; the inbox processor (actions/) uses it too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: timedelta = timedelta(seconds=30)  # after the first failure
    factor: float = 2.0  # each later delay is this many times the one before
    cap: timedelta = timedelta(hours=6)  # no delay is longer
    # Each delay is shortened by up to this share at random, so items that failed together (a host that was
    # down, a campaign row that was locked) do not all come back in the same instant.
    jitter: float = 0.2
    give_up_after: timedelta = timedelta(days=3)  # counted from the item's first attempt (its arrival)

    def next_attempt(
        self,
        attempts: int,
        first_attempt_at: datetime,
        now: datetime,
        rng: random.Random | None = None,
        at_least: timedelta | None = None,
    ) -> datetime | None:
        """When to try again after the `attempts`-th failure, or None to give up.

        `at_least` is a wait the other side asked for (Retry-After), honoured up to the cap. Without `rng`
        there is no jitter. The last retry lands at the give-up age, never after it.
        """
        if now - first_attempt_at >= self.give_up_after:
            return None
        exponent = min(max(attempts - 1, 0), 60)
        seconds = min(self.base_delay.total_seconds() * self.factor**exponent, self.cap.total_seconds())
        if rng is not None and self.jitter > 0:
            seconds *= 1 - self.jitter * rng.random()
        delay = timedelta(seconds=seconds)
        if at_least is not None:
            delay = max(delay, min(at_least, self.cap))
        return min(now + delay, first_attempt_at + self.give_up_after)


# The policy both queues use; the settings may shorten the first delay (tests do).
DEFAULT = RetryPolicy()
