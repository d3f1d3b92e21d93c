"""The Coral Edge TPU target: a pre-flight check and the compiled variant.

    from edgekit.edgetpu import check_edgetpu, compile_edgetpu

    check = check_edgetpu("model_int8.tflite")     # no compiler, no TensorFlow needed
    print(check.verdict, check.fixes)
    result = compile_edgetpu("model_int8.tflite")  # needs Coral's edgetpu_compiler (x86-64 Linux)
    print(result.path, result.comparison["disagreements"])

Running a compiled model: edgekit.runtime.load(path, delegate="edgetpu", device="usb:0").
Nothing here imports TensorFlow.
"""

from .check import Blocker, CheckResult, OpPrediction, check_edgetpu
from .compiler import (
    ENV_COMPILER,
    RECIPE,
    CompileError,
    CompileResult,
    CompilerNotFoundError,
    compare,
    compile_edgetpu,
    find_compiler,
)
from .log import CompilerLog, OpStatus, SegmentReport, parse_compiler_output
from .ops import ON_CHIP_BYTES, SUPPORTED

__all__ = [
    "Blocker",
    "CheckResult",
    "CompileError",
    "CompileResult",
    "CompilerLog",
    "CompilerNotFoundError",
    "ENV_COMPILER",
    "ON_CHIP_BYTES",
    "OpPrediction",
    "OpStatus",
    "RECIPE",
    "SUPPORTED",
    "SegmentReport",
    "check_edgetpu",
    "compare",
    "compile_edgetpu",
    "find_compiler",
    "parse_compiler_output",
]
