"""Stopping background tasks for sure, and waiting with a timeout on every Python."""

from __future__ import annotations

import asyncio
import logging

import pytest

from progressista.server.background import stop, wait_event


def run(coro):
    return asyncio.run(coro)


async def stubborn(swallow: list[int], ended: list[str]) -> None:
    """A loop that carries on after ``swallow[0]`` cancellations, as one inside a redis-py call can (3.11 and older)."""
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallow[0]:
                swallow[0] -= 1
                continue
            ended.append("cancelled")
            raise


def test_stop_cancels_again_a_task_that_swallowed_a_cancellation():
    async def body():
        ended = []
        task = asyncio.create_task(stubborn([2], ended))
        await asyncio.sleep(0)
        await stop(task, timeout=5)
        assert task.cancelled() and ended == ["cancelled"]

    run(body())


def test_one_cancel_does_not_stop_such_a_task():
    """The control: what the server did before, ``cancel()`` then wait, never returns."""

    async def body():
        task = asyncio.create_task(stubborn([1], []))
        await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=0.3)
        assert not done
        await stop(task)

    run(body())


def test_stop_gives_up_with_a_warning_on_a_task_that_never_ends(caplog):
    async def body():
        swallow = [10**9]
        task = asyncio.create_task(stubborn(swallow, []), name="never-ends")
        await asyncio.sleep(0)
        with caplog.at_level(logging.WARNING, logger="progressista.server"):
            await stop(task, timeout=0.2)
        assert not task.done() and "never-ends" in caplog.text
        swallow[0] = 0  # the test's own cleanup
        await stop(task)

    run(body())


def test_stop_takes_finished_tasks_and_none_and_keeps_their_errors_quiet():
    async def fails():
        raise RuntimeError("boom")

    async def body():
        failed = asyncio.create_task(fails())
        await asyncio.sleep(0)
        await stop(failed, None)
        assert isinstance(failed.exception(), RuntimeError)

    run(body())


@pytest.mark.parametrize("set_it", [False, True])
def test_wait_event_says_whether_the_event_was_set(set_it):
    """On 3.10, wait_for raises asyncio.TimeoutError, which is not the builtin TimeoutError there."""

    async def body():
        event = asyncio.Event()
        if set_it:
            asyncio.get_running_loop().call_later(0.01, event.set)
        return await wait_event(event, 0.5 if set_it else 0.02)

    assert run(body()) is set_it
