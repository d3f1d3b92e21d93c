"""Ctrl-C and SIGTERM that cannot be lost.

Python delivers a signal by raising in whatever code runs at that moment; when that is a
finalizer (`__del__`, run by TensorFlow's `gc.collect()`), the exception is printed and
dropped, and the run would go on to write its outputs and exit 0. So the handlers also record
the signal, and `check()` (called at safe points: every progress step, before every file is
renamed into place) raises it again until the command ends.

SIGINT keeps its inherited disposition: a process started with SIGINT ignored (`nohup ...
&`) stays deaf to it, as its starter asked.
"""

from __future__ import annotations

import signal

_pending: list[int] = []


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup (temp files, locks) runs."""


def _raise_for(signum: int):
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _handler(signum, frame):
    if signum not in _pending:
        _pending.append(signum)
    _raise_for(signum)


def install() -> None:
    """Handle SIGTERM (and SIGINT unless it is ignored) in the main thread."""
    _pending.clear()
    signal.signal(signal.SIGTERM, _handler)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _handler)


def check() -> None:
    """Raise the signal received earlier, if any (a safe point)."""
    if _pending:
        _raise_for(_pending[0])


def received() -> int | None:
    return _pending[0] if _pending else None


def handled() -> None:
    """Code that stops on Ctrl-C and keeps what it has (a benchmark's partial results) calls
    this after catching KeyboardInterrupt, so the signal is not raised again. SIGTERM stays."""
    if _pending and _pending[0] == signal.SIGINT:
        _pending.pop(0)
