"""Throttling of failed tokens per client address: pure bookkeeping, the caller brings the clock.

An address that has sent ``limit`` wrong or missing tokens within ``window``
seconds is *throttled*: one request of its every ``check_every`` seconds has its
token checked, the others are refused unchecked (429 with ``Retry-After``).
Refusing them unchecked is the point: were a right token let through while
wrong ones are refused, each refusal would still tell a guesser "wrong" at full
speed. So a right token from a throttled address waits for its turn too; any
other address, and an address whose failures are older than the window, is
never slowed.

>>> throttle = Throttle(limit=3)
>>> for second in range(3):
...     throttle.failed("10.0.0.9", now=float(second))
>>> throttle.wait("10.0.0.9", now=3.0), throttle.wait("10.0.0.9", now=3.5), throttle.wait("10.0.0.1", now=3.5)
(0.0, 0.5, 0.0)
>>> throttle.wait("10.0.0.9", now=70.0)  # the failures have left the window
0.0
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Throttle"]

#: Seconds a failure counts.
WINDOW = 60.0
#: A throttled address gets one token check per this many seconds.
CHECK_EVERY = 1.0
#: Addresses remembered at most; the one whose last failure is oldest is forgotten first.
MAX_ADDRESSES = 10_000


@dataclass
class _Address:
    failures: deque[float]  # the latest ``limit`` failure times, oldest first
    next_check: float = field(default=float("-inf"))


class Throttle:
    """Failed-token bookkeeping for every client address (``limit`` 0: never throttles)."""

    def __init__(
        self, limit: int, window: float = WINDOW, check_every: float = CHECK_EVERY, max_addresses: int = MAX_ADDRESSES
    ) -> None:
        self.limit = limit
        self.window = window
        self.check_every = check_every
        self.max_addresses = max_addresses
        self._addresses: dict[str, _Address] = {}  # least recently failed first

    def __len__(self) -> int:
        return len(self._addresses)

    def wait(self, address: str, now: float) -> float:
        """Seconds before a token from ``address`` may be checked; ``0.0``: check this one now.

        A throttled address's check, once granted, takes its turn: the next is
        ``check_every`` seconds later, whatever the token turns out to be.
        """
        entry = self._addresses.get(address)
        if entry is None:
            return 0.0
        if now - entry.failures[-1] >= self.window:  # all its failures are old: forget it
            del self._addresses[address]
            return 0.0
        if len(entry.failures) < self.limit or now - entry.failures[0] >= self.window:
            return 0.0
        if now < entry.next_check:
            return entry.next_check - now
        entry.next_check = now + self.check_every
        return 0.0

    def failed(self, address: str, now: float) -> None:
        """Count a wrong or missing token from ``address``."""
        if self.limit <= 0:
            return
        entry = self._addresses.pop(address, None)
        if entry is None:
            entry = _Address(deque(maxlen=self.limit))
        entry.failures.append(now)
        self._addresses[address] = entry  # now the most recent
        while len(self._addresses) > self.max_addresses:
            del self._addresses[next(iter(self._addresses))]
