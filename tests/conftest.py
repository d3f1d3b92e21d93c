"""Puts tests/ on sys.path so every test folder can import the shared helpers module, and
starts every test's children with SIGINT at its default.

A suite started as `nohup pytest &` (or as a background job of a non-interactive shell, as
some CI runners do) inherits SIGINT ignored; exec keeps an ignored signal ignored, so every
`edgekit` child would then ignore the Ctrl-C a test sends it. Python's own handler in this
process is reset to the default by exec in each child. The tests that interrupt a child also
pass `preexec_fn=default_sigint` (edgekit_testing), so they hold when run outside this suite.
"""

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
