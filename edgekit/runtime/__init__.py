"""The thin on-device runtime: numpy plus whichever TFLite interpreter is installed.

Nothing here imports TensorFlow, Keras or tfmot (only the optional "tf" backend imports
tensorflow, inside the function that needs it). Typical use:

    from edgekit import runtime
    model = runtime.load("model.tflite")      # backend="auto", threads=None
    y = model.predict(x)                       # numpy in, float32 numpy out
    model.classify("cat.jpg", top_k=3)         # with an embedded / sidecar manifest
"""

from .interpreter import BACKENDS, DELEGATES, make_interpreter
from .model import Model, TensorSpec, dequantize, load, quantize
from .tflite_file import (
    MANIFEST_METADATA_NAME,
    ModelInfo,
    check_tflite_bytes,
    describe,
    embed_manifest,
    embed_metadata,
    read_manifest_bytes,
    read_metadata,
)

__all__ = [
    "BACKENDS",
    "DELEGATES",
    "MANIFEST_METADATA_NAME",
    "Model",
    "ModelInfo",
    "TensorSpec",
    "check_tflite_bytes",
    "dequantize",
    "describe",
    "embed_manifest",
    "embed_metadata",
    "load",
    "make_interpreter",
    "quantize",
    "read_manifest_bytes",
    "read_metadata",
]
