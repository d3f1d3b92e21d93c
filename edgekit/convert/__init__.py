"""Conversion targets: TFLite (this package); the Edge TPU variant builds on its int8 output."""

from .pipeline import Artifact, ConvertResult, convert

__all__ = ["Artifact", "ConvertResult", "convert"]
