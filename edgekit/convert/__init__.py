"""Conversion targets: TFLite (this package); the Edge TPU variant builds on its int8 output.

    from edgekit.convert import convert, debug, AccuracyBound, EdgeTpuOptions
"""

from .debug import DebugReport, debug
from .pipeline import ConvertResult, convert, run
from .request import ConvertRequest, DataOptions, EdgeTpuOptions, LoadOptions
from .selective import AccuracyBound
from .stages import Artifact

__all__ = ["AccuracyBound", "Artifact", "ConvertRequest", "ConvertResult", "DataOptions", "DebugReport",
           "EdgeTpuOptions", "LoadOptions", "convert", "debug", "run"]
