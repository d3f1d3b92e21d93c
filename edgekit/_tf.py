"""The converter stack, imported on demand with its native start-up noise kept off the terminal.

`import tensorflow` prints C++ log lines (CUDA probing, oneDNN notices) straight to fd 2. We
import it once inside a capture; the text is kept in `IMPORT_LOG` for debugging.
"""

from __future__ import annotations

import sys

from ._native_log import capture_native_stderr
from .errors import require

IMPORT_LOG: list[str] = []


def _quiet_require(module: str):
    if module in sys.modules:
        return sys.modules[module]
    with capture_native_stderr() as log:
        imported = require(module, "convert")
    IMPORT_LOG.append(log.text)
    return imported


def tensorflow():
    """The `tensorflow` module, or a MissingDependencyError naming edgekit[convert]."""
    return _quiet_require("tensorflow")


def keras():
    """Keras 3 (`import keras`, never `tf.keras`), imported after TensorFlow."""
    tensorflow()
    return _quiet_require("keras")
