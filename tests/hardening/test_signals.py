"""Ctrl-C and SIGTERM cannot be lost: a signal that arrives while Python runs a finalizer
(TensorFlow's gc.collect() runs `__del__` methods) is dropped by Python, so edgekit records it
and raises it again at the next safe point (a progress step, a file about to be renamed)."""

from __future__ import annotations

import subprocess
import sys

from edgekit_testing import REPO, default_sigint

SWALLOWED = r"""
import gc, os, signal, sys
from edgekit import _files, _signals

_signals.install()

class Finalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)   # delivered here: Python drops what the handler raises
        for _ in range(1000):                  # give the handler a bytecode boundary inside __del__
            pass

obj = Finalizer()
obj.cycle = obj
del obj
gc.collect()
print("finalizer ran; pending:", _signals.received() == signal.SIGTERM, flush=True)
try:
    _files.atomic_write_bytes(sys.argv[1], b"must not appear")
except _signals.Terminated:
    print("raised again before the rename", flush=True)
print("exists:", os.path.exists(sys.argv[1]), flush=True)
"""


def test_a_sigterm_swallowed_by_a_finalizer_is_raised_again(tmp_path):
    target = tmp_path / "out.bin"
    result = subprocess.run([sys.executable, "-c", SWALLOWED, str(target)], capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert "finalizer ran; pending: True" in result.stdout, result.stdout + result.stderr
    assert "raised again before the rename" in result.stdout
    assert "exists: False" in result.stdout and not list(tmp_path.iterdir())


def test_ctrl_c_handled_by_a_benchmark_is_not_raised_again():
    script = (
        "import os, signal\nfrom edgekit import _signals\n_signals.install()\n"
        "try:\n    os.kill(os.getpid(), signal.SIGINT)\n    [None for _ in range(10**6)]\n"
        "except KeyboardInterrupt:\n    _signals.handled()\n    print('handled')\n_signals.check()\nprint('carried on')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=60,
                            preexec_fn=default_sigint)
    assert result.stdout.split() == ["handled", "carried", "on"], result.stderr


def test_sigint_ignored_by_the_parent_stays_ignored():
    """`nohup edgekit ... &`: the starter asked for SIGINT to be ignored; edgekit keeps that."""
    script = ("import signal\nfrom edgekit import _signals\n_signals.install()\n"
              "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=60,
                            preexec_fn=lambda: __import__("signal").signal(2, __import__("signal").SIG_IGN))
    assert result.stdout.strip() == "True", result.stderr


def test_children_of_the_suite_start_with_sigint_at_its_default():
    """The suite may be started with SIGINT ignored (`nohup pytest &`); conftest.py undoes that
    for the children, so a test's Ctrl-C reaches the edgekit it started."""
    script = "import signal\nprint(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr
