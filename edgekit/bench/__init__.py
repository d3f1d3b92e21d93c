"""Benchmarks: latency percentiles and accuracy against a reference, on this machine.

Runs on the device as well as the host: numpy, edgekit.runtime and edgekit.data, never a
converter (a Keras reference is computed on the host and passed in as arrays).
"""

from ..artifact import BENCH_SCHEMA as SCHEMA
from ..runtime.timing import TimingConfig
from .data import load_bench_data
from .reference import read_saved_reference, save_reference, tflite_reference
from .run import ReferenceOutputs, run_benchmark, verdict

__all__ = ["SCHEMA", "ReferenceOutputs", "TimingConfig", "load_bench_data", "read_saved_reference",
           "run_benchmark", "save_reference", "tflite_reference", "verdict"]
