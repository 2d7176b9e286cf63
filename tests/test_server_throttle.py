"""The failed-token throttle's rules, with a clock of the test's own."""

from progressista.server.throttle import Throttle


def failing(throttle: Throttle, address: str, times: list[float]) -> None:
    for now in times:
        throttle.failed(address, now)


def test_an_address_is_throttled_after_limit_failures_within_the_window():
    throttle = Throttle(limit=5, window=60, check_every=1)
    failing(throttle, "a", [0, 1, 2, 3])
    assert throttle.wait("a", 4) == 0  # four failures: every token is still checked
    assert throttle.wait("a", 4) == 0
    throttle.failed("a", 4)
    assert throttle.wait("a", 4.5) == 0  # throttled: this check is its turn...
    assert throttle.wait("a", 4.75) == 0.75  # ...and the next one waits out the second
    assert throttle.wait("a", 5.5) == 0
    assert throttle.wait("b", 5.5) == 0  # other addresses are never slowed


def test_the_turn_is_taken_whatever_the_token_was():
    # A right token at its turn passes, but the guesser's next token waits like any other.
    throttle = Throttle(limit=2, check_every=2)
    failing(throttle, "a", [0, 0])
    assert throttle.wait("a", 1) == 0
    assert throttle.wait("a", 1.5) == 1.5


def test_failures_older_than_the_window_no_longer_count():
    throttle = Throttle(limit=3, window=10)
    failing(throttle, "a", [0, 1, 2])
    assert throttle.wait("a", 3) == 0 and throttle.wait("a", 3.1) > 0
    assert throttle.wait("a", 10.5) == 0  # the first failure has left the window: two remain
    assert throttle.wait("a", 10.6) == 0
    failing(throttle, "a", [10.8])  # 1, 2 and 10.8: three within the window again
    throttle.wait("a", 10.8)
    assert throttle.wait("a", 10.9) > 0


def test_an_address_whose_failures_are_all_old_is_forgotten():
    throttle = Throttle(limit=3, window=10)
    failing(throttle, "a", [0])
    assert len(throttle) == 1
    assert throttle.wait("a", 10) == 0 and len(throttle) == 0


def test_memory_is_bounded_forgetting_the_least_recent_failures_first():
    throttle = Throttle(limit=2, max_addresses=3)
    failing(throttle, "a", [0, 0])
    failing(throttle, "b", [1])
    failing(throttle, "c", [2])
    failing(throttle, "a", [3])  # a failed last: b is now the least recent
    failing(throttle, "d", [4])
    assert len(throttle) == 3
    throttle.wait("a", 5)
    assert throttle.wait("a", 5.1) > 0  # a is still known and throttled
    failing(throttle, "b", [5])
    assert throttle.wait("b", 5) == 0  # b had been forgotten: one failure, not two


def test_a_limit_of_zero_never_throttles():
    throttle = Throttle(limit=0)
    failing(throttle, "a", [0.0] * 100)
    assert throttle.wait("a", 0) == 0 and len(throttle) == 0
