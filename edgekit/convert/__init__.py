"""Conversion targets: TFLite (this package); the Edge TPU variant builds on its int8 output."""

from .debug import DebugReport, debug
from .pipeline import Artifact, ConvertResult, convert
from .selective import AccuracyBound

__all__ = ["AccuracyBound", "Artifact", "ConvertResult", "DebugReport", "convert", "debug"]
