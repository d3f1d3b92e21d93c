"""The thin on-device runtime: numpy plus whichever TFLite interpreter is installed.

Nothing here imports TensorFlow, Keras or tfmot (only the optional "tf" backend imports
tensorflow, inside the function that needs it). Typical use:

    from edgekit import runtime
    model = runtime.load("model.tflite")      # backend="auto", threads=None
    y = model.predict(x)                       # numpy in, float32 numpy out
    model.classify("cat.jpg", top_k=3)         # with an embedded / sidecar manifest
    model.detect("street.jpg")                 # boxes in the image's pixels (detect.py)
    model.segment("room.jpg").mask             # a class id per pixel (segment.py)
    FramePipeline(model, "detect").run(frames) # cameras and video (frames.py)

The manifest (edgekit.artifact.Manifest) is the contract with the host: `model.manifest`
is validated when the model is loaded.
"""

from ..artifact import TensorSpec
from ..artifact.records import AnchorSpec, DetectionSpec
from .detect import LAYOUTS, Detection, DetectionResult, Detector
from .edgetpu import EdgeTpu, list_edge_tpus
from .frames import FrameResult, FramePipeline, PipelineStats
from .interpreter import BACKENDS, DELEGATES, make_interpreter
from .model import Model, dequantize, load, quantize
from .preprocess import make_preprocessing
from .segment import SegmentationResult, Segmenter
from .vision import Classification, Classifier
from .tflite_file import (
    MANIFEST_METADATA_NAME,
    ModelInfo,
    check_tflite_bytes,
    describe,
    embed_metadata,
    read_metadata,
    read_tflite_file,
)

__all__ = [
    "BACKENDS",
    "DELEGATES",
    "LAYOUTS",
    "MANIFEST_METADATA_NAME",
    "AnchorSpec",
    "Classification",
    "Classifier",
    "Detection",
    "DetectionResult",
    "DetectionSpec",
    "Detector",
    "EdgeTpu",
    "FramePipeline",
    "FrameResult",
    "Model",
    "ModelInfo",
    "PipelineStats",
    "SegmentationResult",
    "Segmenter",
    "TensorSpec",
    "check_tflite_bytes",
    "dequantize",
    "describe",
    "embed_metadata",
    "list_edge_tpus",
    "load",
    "make_interpreter",
    "make_preprocessing",
    "quantize",
    "read_metadata",
    "read_tflite_file",
]
