"""Benchmarks: latency percentiles and accuracy against a reference, on this machine.

Runs on the device as well as the host: no TensorFlow unless the reference is a Keras model.
"""

from .measure import TimingConfig
from .run import SCHEMA, run_benchmark, verdict

__all__ = ["SCHEMA", "TimingConfig", "run_benchmark", "verdict"]
