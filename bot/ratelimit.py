"""Per-citizen message rate limits (sliding one-minute window) and send-side token buckets.

`MemoryRateLimiter` serves one gateway process (the embedded default); `RedisRateLimiter`
shares the window between gateway replicas (production, ``GOVBOT_REDIS_URL``). Both answer
the same question: is this message within the limit, and is it the first one over it (the
one that gets the polite notice; later ones in the same minute are dropped quietly).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    notify: bool  # the first message over the limit: tell the citizen once


class MemoryRateLimiter:
    def __init__(self, per_minute: int, window: float = 60.0, clock=time.monotonic):
        self.per_minute, self.window, self.clock = per_minute, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._notified: dict[str, float] = {}

    async def check(self, key: str) -> Verdict:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.per_minute:
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle citizens
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}
            return Verdict(True, False)
        first = self._notified.get(key, -1e18) <= now - self.window
        if first:
            self._notified[key] = now
        return Verdict(False, first)


class RedisRateLimiter:
    """Sliding window in a Redis sorted set per citizen (one round trip per message)."""

    def __init__(self, url: str, per_minute: int, window: float = 60.0, prefix: str = "govbot:rl:"):
        import redis.asyncio as redis

        self.redis = redis.from_url(url)
        self.per_minute, self.window, self.prefix = per_minute, window, prefix

    async def check(self, key: str) -> Verdict:
        now = time.time()
        k = self.prefix + key
        member = f"{now:.6f}:{uuid.uuid4().hex[:6]}"
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(k, 0, now - self.window)
        pipe.zcard(k)
        pipe.zadd(k, {member: now})
        pipe.expire(k, int(self.window) + 1)
        _, count, _, _ = await pipe.execute()
        if count < self.per_minute:
            return Verdict(True, False)
        await self.redis.zrem(k, member)  # rejected messages do not extend the block
        first = await self.redis.set(f"{k}:notified", "1", nx=True, ex=int(self.window))
        return Verdict(False, bool(first))

    async def close(self) -> None:
        await self.redis.aclose()


def make_rate_limiter(redis_url: str, per_minute: int):
    return RedisRateLimiter(redis_url, per_minute) if redis_url else MemoryRateLimiter(per_minute)


class TokenBucket:
    """Async token bucket: `await take()` waits until a send is allowed."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = float(burst), clock()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
