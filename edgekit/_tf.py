"""The converter stack, imported on demand with its native start-up noise kept off the terminal.

`import tensorflow` prints C++ log lines (CUDA probing, oneDNN notices) straight to fd 2. We
import it once inside a capture; the text is kept in `IMPORT_LOG` for debugging.
"""

from __future__ import annotations

import os
import sys
import warnings

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


def tf_keras():
    """Keras 2 (`import tf_keras`), which tensorflow-model-optimization's QAT needs."""
    tensorflow()
    return _quiet_require("tf_keras")


def tfmot():
    """tensorflow_model_optimization, imported without leaving its environment change behind.

    Importing it sets TF_USE_LEGACY_KERAS=1 in os.environ; edgekit restores the variable (the
    module keeps using tf_keras). It also resolves TensorFlow's lazy `tf.keras` to Keras 2 for
    this process, which edgekit never uses (it imports `keras` and `tf_keras` explicitly)."""
    if "tensorflow_model_optimization" in sys.modules:
        return sys.modules["tensorflow_model_optimization"]
    tf_keras()
    saved = os.environ.get("TF_USE_LEGACY_KERAS")
    try:
        with warnings.catch_warnings():  # its distutils version check warns on import
            warnings.simplefilter("ignore", DeprecationWarning)
            return _quiet_require("tensorflow_model_optimization")
    finally:
        if saved is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = saved
