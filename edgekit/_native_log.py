"""Capture what native code (the MLIR converter, absl logging) writes straight to fd 2.

The TFLite converter prints pages of C++ logs to the process's stderr file descriptor, where
Python's `sys.stderr` redirection cannot reach. We redirect fd 2 to a temp file for the
duration of a conversion, keep the text for error messages, and restore fd 2 afterwards.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


class NativeLog:
    text: str = ""


@contextlib.contextmanager
def capture_native_stderr():
    """Yield a NativeLog whose .text holds what was written to fd 2 inside the block."""
    log = NativeLog()
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield log
        finally:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            log.text = sink.read().decode("utf-8", "replace")
