"""How many requests one remote host may send us (and how many keys its requests may make us fetch): a token
bucket per host, in memory, with `now` passed in.

A host may send `burst` requests at once, then `per_minute` a minute. The key is the host of the request's
signature keyId (read before any RSA work), never an IP address. Buckets that have refilled carry no
information and are dropped first when the table is full, so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_HOSTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class HostThrottle:
    """take(host, now) -> None when the request may go on, else the seconds to wait (for Retry-After)."""

    def __init__(self, per_minute: int, burst: int | None = None, max_hosts: int = MAX_HOSTS) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (no limit) or more")
        self.per_minute = per_minute
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(burst if burst is not None else per_minute)
        self.max_hosts = max_hosts
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, bucket: _Bucket, now: float) -> float:
        elapsed = max(0.0, now - bucket.updated)  # a clock that steps back refills nothing
        return min(self.capacity, bucket.tokens + elapsed * self.rate)

    def take(self, host: str, now: float) -> int | None:
        if not self.enabled:
            return None
        bucket = self._buckets.pop(host, None)  # re-inserted below: dict order is least recently seen first
        if bucket is None:
            self._make_room(now)
            bucket = _Bucket(self.capacity, now)
        tokens = self._level(bucket, now)
        bucket.updated = max(bucket.updated, now)
        if tokens >= 1.0:
            bucket.tokens = tokens - 1.0
            self._buckets[host] = bucket
            return None
        bucket.tokens = tokens
        self._buckets[host] = bucket
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_hosts:
            return
        full = [h for h, b in self._buckets.items() if self._level(b, now) >= self.capacity]
        for host in full:
            del self._buckets[host]
        if len(self._buckets) >= self.max_hosts:  # still full: forget the least recently seen tenth
            for host in list(self._buckets)[: max(1, self.max_hosts // 10)]:
                del self._buckets[host]

    def wait(self, host: str, now: float) -> int | None:
        """What take() would answer, without taking anything."""
        if not self.enabled:
            return None
        bucket = self._buckets.get(host)
        tokens = self.capacity if bucket is None else self._level(bucket, now)
        return None if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self.rate))


class FetchBudget:
    """First fetches of keys that a request names: a budget per host of the keyId and one for the whole
    server, so that unauthenticated requests cannot make us fetch without bound (a reflection tool). A fetch
    takes a token from both or from neither."""

    OVERALL = "*"

    def __init__(self, per_host_per_minute: int, per_minute: int) -> None:
        self.per_host = HostThrottle(per_host_per_minute)
        self.overall = HostThrottle(per_minute, max_hosts=1)

    def take(self, host: str, now: float) -> int | None:
        """None when the fetch may go ahead (its tokens taken), else the seconds until it may."""
        waits = [w for w in (self.per_host.wait(host, now), self.overall.wait(self.OVERALL, now)) if w]
        if waits:
            return max(waits)
        self.per_host.take(host, now)
        self.overall.take(self.OVERALL, now)
        return None
