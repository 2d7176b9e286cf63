"""Copy stdin to stdout unchanged and report it as one task: what ``progressista pipe`` does.

>>> from progressista.pipe import pipe
>>> code = pipe("lines", desc="Compressing", total=1_000_000)  # doctest: +SKIP

The data is copied as bytes, never decoded, in large blocks (``os`` reads and
writes on the raw file descriptors), so the pipe can sit anywhere in a
pipeline, binary data included: ``pg_dump db | progressista pipe --bytes | gzip
> db.gz``. What the task counts (the options of ``python -m tqdm``, same meaning):

- ``lines`` (the default): newlines, and a last line without one, as ``tqdm``
  counts;
- ``bytes``: bytes (unit ``B``);
- ``update`` / ``update-to``: every input line is a number, added to the count
  (an increment) or set as the count (an absolute value). These lines are the
  progress, not data: they are **not** copied to stdout (``python -m tqdm``
  copies them unless given ``--null``). Blank lines are skipped; a line that is
  no finite number is skipped too, and the first one is named on stderr.

The task (:class:`~progressista.client.task.RemoteTask`, posted by the
process's one sender) opens before the first read and is updated at most every
``mininterval`` seconds, never per line; when the input pauses, the count so far
is posted at once rather than at the next block. Its count is what went through
(a block is counted once written). It ends:

- at the end of the input: ``close``, with the final count; exit status 0;
- when the reader goes away (``... | progressista pipe | head -1``): ``error``
  with ``meta.signal = "SIGPIPE"``; reading stops and the process dies of
  SIGPIPE, as ``cat`` does (a shell reports 141; with ``set -o pipefail`` the
  pipeline fails as it would with ``cat``);
- killed by SIGTERM, SIGHUP or SIGINT (Ctrl-C): ``error`` with ``meta.signal``
  naming it; copying stops at once and the process dies of that signal, after
  a flush of at most ``PROGRESSISTA_REQUEST_TIMEOUT`` (a second signal kills at
  once); an ignored signal (``nohup``) stays ignored;
- a read or write error (a full disk): ``error`` with ``meta.error``; exit status 1.

Why its own signal handler rather than :mod:`progressista.signals` (which
reports on a thread while the program runs on): here the copy loop is the whole
program, so the handler stops it, by raising, but only while the loop waits in
a read or a write, never while it holds a lock of the sender.
"""

from __future__ import annotations

import io
import os
import select
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from . import sender, signals
from .client.event import new_task_id, number
from .client.meta import failure_meta
from .client.task import RemoteTask
from .config import ClientConfig, ClientOptions

__all__ = [
    "BLOCK",
    "BYTES",
    "LINES",
    "MAX_LINE",
    "MODES",
    "UPDATE",
    "UPDATE_TO",
    "ByteCount",
    "Count",
    "LineCount",
    "NumberCount",
    "default_task_id",
    "make_count",
    "parse_number",
    "pipe",
]

LINES, BYTES, UPDATE, UPDATE_TO = "lines", "bytes", "update", "update-to"
MODES = (LINES, BYTES, UPDATE, UPDATE_TO)
#: Bytes read at once (a pipe holds 64 KiB; a file redirected to stdin gives more).
BLOCK = 1 << 20
#: Longest line read as a number; a longer one is cut (and is then no number).
MAX_LINE = 1024
_FLOAT_MAX = sys.float_info.max


def parse_number(line: bytes) -> int | float | None:
    """``line`` as a finite number, or ``None`` (blank, not a number, NaN, infinite).

    >>> parse_number(b" 12\\r"), parse_number(b"2.5"), parse_number(b"1e3"), parse_number(b"1_000")
    (12, 2.5, 1000.0, 1000)
    >>> parse_number(b"50%"), parse_number(b"nan"), parse_number(b"")
    (None, None, None)
    """
    try:
        return number(int(line))
    except ValueError:
        pass
    try:
        return number(float(line))
    except ValueError:
        return None


class Count:
    """What the task counts of the input: ``n`` so far; ``copies`` says whether the input goes on to stdout."""

    copies = True
    unit = "it"

    def __init__(self) -> None:
        self.n: int | float = 0

    def feed(self, block: bytearray, size: int) -> None:
        """Count the first ``size`` bytes of ``block``, the next part of the input."""
        raise NotImplementedError

    def end(self) -> None:
        """The input ended: count what the last block left pending."""


class LineCount(Count):
    """Newlines, and a last line without one (as ``tqdm`` counts).

    >>> count = LineCount(); count.feed(bytearray(b"a\\nb"), 3); count.feed(bytearray(b"b\\nc"), 3); count.end()
    >>> count.n
    3
    """

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.open_line = False

    def feed(self, block: bytearray, size: int) -> None:
        if size:
            self.n += block.count(b"\n", 0, size)
            self.open_line = block[size - 1] != 0x0A

    def end(self) -> None:
        if self.open_line:
            self.n += 1
            self.open_line = False


class ByteCount(Count):
    """Bytes."""

    unit = "B"

    def feed(self, block: bytearray, size: int) -> None:
        self.n += size


class NumberCount(Count):
    """Each line a number: added to ``n`` (``absolute=False``) or set as ``n``; the lines are not copied.

    ``on_bad(line)`` hears of lines that are no number (blank ones are skipped silently).

    >>> count = NumberCount(absolute=False); count.feed(bytearray(b"1\\n2.5\\n\\n4"), 8); count.end(); count.n
    7.5
    >>> count = NumberCount(absolute=True); count.feed(bytearray(b"10\\n20\\n3"), 7); count.feed(bytearray(b"0\\n"), 2)
    >>> count.n
    30
    """

    copies = False

    def __init__(self, absolute: bool, on_bad: Callable[[bytes], None] | None = None) -> None:
        super().__init__()
        self.absolute = absolute
        self.on_bad = on_bad
        self.rest = b""

    def feed(self, block: bytearray, size: int) -> None:
        lines = bytes(block[:size]).split(b"\n")
        lines[0] = self.rest + lines[0]
        self.rest = lines.pop()[:MAX_LINE]
        self._count(lines)

    def end(self) -> None:
        rest, self.rest = self.rest, b""
        self._count([rest])

    def _count(self, lines: list[bytes]) -> None:
        if not lines:
            return
        if self.absolute:
            for line in reversed(lines):  # the last number wins: the lines before it change nothing
                value = self._number(line)
                if value is not None:
                    self.n = value
                    return
            return
        try:
            values = list(map(int, lines))  # the usual input, whole numbers: fast
            if values and (max(values) > _FLOAT_MAX or min(values) < -_FLOAT_MAX):
                raise ValueError("past the float range")
            self.n += sum(values)
        except ValueError:
            for line in lines:
                value = self._number(line)
                if value is not None:
                    self.n += value

    def _number(self, line: bytes) -> int | float | None:
        value = parse_number(line)
        if value is None and line.strip() and self.on_bad is not None:
            self.on_bad(line)
        return value


def make_count(mode: str, on_bad: Callable[[bytes], None] | None = None) -> Count:
    """The :class:`Count` of a mode (one of :data:`MODES`)."""
    if mode == LINES:
        return LineCount()
    if mode == BYTES:
        return ByteCount()
    if mode in (UPDATE, UPDATE_TO):
        return NumberCount(absolute=mode == UPDATE_TO, on_bad=on_bad)
    raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")


def default_task_id(run_id: str | None = None) -> str:
    """``pipe-{host}-{process}-{n}``, after ``{run_id}:`` in a run (``PROGRESSISTA_RUN_ID``), as bars' ids.

    >>> default_task_id("nightly").startswith("nightly:pipe-")
    True
    """
    task_id = "pipe-" + new_task_id(None)
    return task_id if run_id is None else f"{run_id}:{task_id}"


class _Stop(Exception):
    """A signal stops the copy."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Copy:
    """The copy loop and the signals that stop it (see the module's doc)."""

    def __init__(self, count: Count, task: RemoteTask, stdin: int, stdout: int, block: int) -> None:
        self.count = count
        self.task = task
        self.stdin = stdin
        self.stdout = stdout
        self.block = block
        self.signum: int | None = None
        self.waiting = False  # in a read or a write, where the handler may raise
        self.doing = "reading stdin"  # or writing stdout: what an OSError was about

    def run(self) -> None:
        """Copy until the end of the input; raises :class:`_Stop`, ``BrokenPipeError``, ``OSError``."""
        block = bytearray(self.block)
        view = memoryview(block)
        count, task, copies = self.count, self.task, self.count.copies
        behind = False  # the count moved since the task last posted (its update was throttled)
        try:
            with io.FileIO(self.stdin, "rb", closefd=False) as source:
                while True:
                    if behind and not self._readable(task.mininterval):
                        task.update(force=True)  # the input paused: post the count now, not at the next block
                    behind = False
                    self._wait()
                    size = source.readinto(block)
                    self.waiting = False
                    if size is None:  # a non-blocking stdin (shared with a program that set it so): wait
                        self._readable(None)
                        continue
                    if not size:
                        break
                    if copies:
                        self._wait("writing stdout")
                        self._write(view[:size])
                        self.waiting = False
                    count.feed(block, size)  # once passed on: the count is what went through
                    posted = task.last_push
                    task.update(n=count.n)
                    behind = task.last_push == posted
        finally:
            self.waiting = False
        count.end()

    def _readable(self, timeout: float | None) -> bool:
        """Is there input within ``timeout`` seconds? (A signal meanwhile stops the copy.)"""
        self._wait()
        ready = select.select([self.stdin], [], [], timeout)[0]
        self.waiting = False
        return bool(ready)

    def _wait(self, doing: str = "reading stdin") -> None:
        self.doing = doing
        self.waiting = True  # first: a signal from here on raises, so none is missed before a blocking call
        if self.signum is not None:
            raise _Stop(self.signum)

    def _write(self, data: memoryview) -> None:
        while data:
            try:
                data = data[os.write(self.stdout, data) :]
            except BlockingIOError:  # a non-blocking stdout (a reader such as node sets it so): wait
                select.select([], [self.stdout], [])

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        for caught in signals.CAUGHT_SIGNALS:  # a second signal kills at once
            signal.signal(caught, signal.SIG_DFL)
        self.signum = signum
        if self.waiting:
            raise _Stop(signum)

    @contextmanager
    def stopped_by_signals(self) -> Iterator[None]:
        """Stop the copy on the signals that would kill the process (not those ignored); restored afterwards."""
        previous: dict[int, Any] = {}
        for signum in signals.CAUGHT_SIGNALS:
            try:
                if signal.getsignal(signum) != signal.SIG_IGN:
                    previous[signum] = signal.signal(signum, self.on_signal)
            except (OSError, ValueError):  # off the main thread, or not settable: left alone
                continue
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def pipe(
    mode: str = LINES,
    desc: str | None = None,
    total: float | None = None,
    unit: str | None = None,
    task_id: str | None = None,
    options: ClientOptions | None = None,
    stdin: int = 0,
    stdout: int = 1,
    block: int = BLOCK,
) -> int:
    """Copy ``stdin`` to ``stdout`` (file descriptors) and report one task; the exit status (see the module's doc).

    Dies of the signal (SIGPIPE, SIGTERM, SIGHUP, SIGINT) that stopped it, after
    the task said so. ``unit`` defaults to the mode's (``it``, ``B`` for bytes);
    ``task_id`` to :func:`default_task_id`.
    """
    count = make_count(mode, on_bad=_say_bad_line_once())
    run_id = ClientConfig.from_env().run_id
    task = RemoteTask(
        task_id or default_task_id(run_id), desc=desc, total=total, unit=unit or count.unit, options=options
    )
    copy = _Copy(count, task, stdin, stdout, block)
    with copy.stopped_by_signals():
        task.start()
        try:
            copy.run()
            if copy.signum is not None:  # it came as the input ended (Ctrl-C stops the whole pipeline)
                raise _Stop(copy.signum)
        except _Stop as stop:
            _end(task, count, {"signal": signal.Signals(stop.signum).name})
            signals.die_of(stop.signum)
        except BrokenPipeError:
            _end(task, count, {"signal": "SIGPIPE"})
            signals.die_of(signal.SIGPIPE)
        except OSError as exc:
            _end(task, count, failure_meta(exc))
            _stderr(f"progressista pipe: error {copy.doing}: {exc}")
            return 1
        except BaseException as exc:  # never leave the task open on the server
            _end(task, count, failure_meta(exc))
            raise
        task.n = count.n
        task.close()
        sender.flush()
    if copy.signum is not None:  # it came during the last flush, after the input ended
        signals.die_of(copy.signum)
    return 0


def _end(task: RemoteTask, count: Count, reason: dict[str, Any] | None) -> None:
    task.n = count.n
    task.fail(reason)
    sender.flush()


def _say_bad_line_once() -> Callable[[bytes], None]:
    said = False

    def say(line: bytes) -> None:
        nonlocal said
        if not said:
            said = True
            text = line.strip()[:60].decode("utf-8", "replace")
            _stderr(f"progressista pipe: skipping lines that are not numbers, the first: {text!r}")

    return say


def _stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except Exception:  # a closed stderr: nothing can be said
        pass
