"""Parsing edgetpu_compiler's output. The texts are real compiler logs as quoted in public
google-coral/edgetpu issues (trimmed where marked), so the parser is tested on the format the
compiler actually prints, not on one edgekit invented."""

from __future__ import annotations

import pytest

from edgekit.edgetpu import parse_compiler_output
from edgekit.edgetpu.log import parse_size

# google-coral/edgetpu#427 (compiler 15.0), op table trimmed to its first rows
PARTIAL_15 = """Edge TPU Compiler version 15.0.340273435

Model compiled successfully in 1379 ms.

Input model: model.tflite
Input size: 4.41MiB
Output model: model_edgetpu.tflite
Output size: 5.49MiB
On-chip memory used for caching model parameters: 1.92MiB
On-chip memory remaining for caching model parameters: 1.75KiB
Off-chip memory used for streaming uncached model parameters: 3.23MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 136
Operation log: model_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 135
Number of operations that will run on CPU: 1

Operator                       Count      Status

RESHAPE                        15         Mapped to Edge TPU
CONCATENATION                  3          Mapped to Edge TPU
MAX_POOL_2D                    3          Mapped to Edge TPU
ADD                            10         Mapped to Edge TPU
CUSTOM                         1          Operation is working on an unsupported data type
"""

# google-coral/edgetpu#60 (compiler 2.1), trimmed: the split after an unsupported op
SPLIT_21 = """edgetpu_compiler -s model2.tflite
Edge TPU Compiler version 2.1.302470888

Model compiled successfully in 12264 ms.

Input model: model2.tflite
Input size: 8.11MiB
Output model: model2_edgetpu.tflite
Output size: 9.47MiB
On-chip memory used for caching model parameters: 6.86MiB
On-chip memory remaining for caching model parameters: 7.75KiB
Off-chip memory used for streaming uncached model parameters: 1.22MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 93
Operation log: model2_edgetpu.log

Number of operations that will run on Edge TPU: 83
Number of operations that will run on CPU: 10

Operator                       Count      Status

LOGISTIC                       1          More than one subgraph is not supported
ADD                            10         Mapped to Edge TPU
CONCATENATION                  1          More than one subgraph is not supported
CONCATENATION                  3          Mapped to Edge TPU
"""

# google-coral/edgetpu#572 (compiler 16.0): no -s, so no table
FULL_16 = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 542 ms.

Input model: quantized_model.tflite
Input size: 4.04MiB
Output model: quantized_model_edgetpu.tflite
Output size: 4.13MiB
On-chip memory used for caching model parameters: 604.50KiB
On-chip memory remaining for caching model parameters: 511.50KiB
Off-chip memory used for streaming uncached model parameters: 3.45MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 50
Operation log: quantized_model_edgetpu.log
See the operation log file for individual operation details.
Compilation child process completed within timeout period.
Compilation succeeded!
"""

# google-coral/edgetpu#557 (compiler 16.0, --num_segments=2): segment 0 compiles, segment 1 fails
SEGMENTS_16 = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 1857 ms.

Input model: efficientdet_lite3_512_ptq_segment_0_of_2.tflite
Input size: 5.20MiB
Output model: efficientdet_lite3_512_ptq_segment_0_of_2_edgetpu.tflite
Output size: 6.51MiB
On-chip memory used for caching model parameters: 6.02MiB
On-chip memory remaining for caching model parameters: 1.02MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 84
Operation log: efficientdet_lite3_512_ptq_segment_0_of_2_edgetpu.log
See the operation log file for individual operation details.
Compilation child process completed within timeout period.
Compilation succeeded! 
Started a compilation timeout timer of 180 seconds.
ERROR: Restored original execution plan after delegate application failure.
Compilation failed: Compilation failed due to large activation tensors in model.
Compilation child process completed within timeout period.
Compilation failed! 
"""

# google-coral/edgetpu#168 (compiler 14.1)
NOT_QUANTIZED = """Edge TPU Compiler version 14.1.317412892
Invalid model: my_mnist_quant.tflite
Model not quantized
"""

# google-coral/edgetpu#829 (compiler 16.0)
DYNAMIC = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.
ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph that has dynamic-sized tensors.
Compilation failed: Model failed in Tflite interpreter. Please ensure model can be loaded/run in Tflite interpreter.
Compilation child process completed within timeout period.
Compilation failed! 
"""

# google-coral/edgetpu#631 (compiler 16.0 on a TensorFlow 2.9 model)
OP_VERSION = """Edge TPU Compiler version 16.0.384591198
ERROR: Didn't find op for builtin opcode 'CONV_2D' version '6'. An older version of this builtin might be supported. Are you using an old TFLite binary with a newer model?

ERROR: Registration failed.
"""

# f0cal/google-coral#53 (compiler 2.0): "available" instead of "remaining"
OLD_20 = """Edge TPU Compiler version 2.0.267685300

Model compiled successfully in 313 ms.

Input model: output_tflite_graph.tflite
Input size: 5.33MiB
Output model: output_tflite_graph_edgetpu.tflite
Output size: 5.75MiB
On-chip memory available for caching model parameters: 7.62MiB
On-chip memory used for caching model parameters: 5.66MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 64
Operation log: output_tflite_graph_edgetpu.log
"""


def test_partially_mapped_log():
    log = parse_compiler_output(PARTIAL_15)
    assert log.version == "15.0.340273435" and log.succeeded and log.errors == ()
    (segment,) = log.segments
    assert segment.compile_ms == 1379
    assert segment.input_model == "model.tflite" and segment.output_model == "model_edgetpu.tflite"
    assert segment.on_chip_used_bytes == round(1.92 * 2**20)
    assert segment.on_chip_remaining_bytes == round(1.75 * 1024)
    assert segment.off_chip_used_bytes == round(3.23 * 2**20)
    assert (segment.edgetpu_subgraphs, segment.total_ops, segment.tpu_ops, segment.cpu_ops) == (1, 136, 135, 1)
    assert segment.log_file == "model_edgetpu.log"
    assert [(r.op, r.count, r.mapped) for r in segment.ops] == [
        ("RESHAPE", 15, True), ("CONCATENATION", 3, True), ("MAX_POOL_2D", 3, True), ("ADD", 10, True),
        ("CUSTOM", 1, False)]
    assert log.statuses("CUSTOM") == ["Operation is working on an unsupported data type"]


def test_split_statuses_are_counted_per_op():
    log = parse_compiler_output(SPLIT_21)
    assert log.version == "2.1.302470888"
    assert log.op_counts() == {"LOGISTIC": (0, 1), "ADD": (10, 0), "CONCATENATION": (3, 1)}
    assert log.statuses("CONCATENATION") == ["More than one subgraph is not supported"]


def test_fully_mapped_log_without_table():
    log = parse_compiler_output(FULL_16)
    assert log.succeeded and log.version == "16.0.384591198"
    (segment,) = log.segments
    assert segment.ops == () and segment.total_ops == 50
    assert segment.on_chip_used_bytes == round(604.5 * 1024)


def test_segments_each_get_a_block_and_a_later_failure_is_an_error():
    log = parse_compiler_output(SEGMENTS_16)
    assert len(log.segments) == 1 and log.segments[0].input_model.endswith("segment_0_of_2.tflite")
    assert not log.succeeded
    assert "Compilation failed: Compilation failed due to large activation tensors in model." in log.errors


@pytest.mark.parametrize("text, words", [
    (NOT_QUANTIZED, ["Invalid model: my_mnist_quant.tflite", "Model not quantized"]),
    (DYNAMIC, ["ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph "
               "that has dynamic-sized tensors.", "Compilation failed!"]),
    (OP_VERSION, ["ERROR: Registration failed."]),
])
def test_failures_collect_the_compilers_reasons(text, words):
    log = parse_compiler_output(text)
    assert not log.succeeded and log.segments == ()
    for word in words:
        assert word in log.errors


def test_compiler_2_0_available_memory_wording():
    (segment,) = parse_compiler_output(OLD_20).segments
    assert segment.on_chip_remaining_bytes == round(7.62 * 2**20) - round(5.66 * 2**20)


def test_table_from_an_operation_log_file():
    text = ("Edge TPU Compiler version 15.0.340273435\nInput: model.tflite\nOutput: model_edgetpu.tflite\n\n"
            "Operator                       Count      Status\n\n"
            "CONV_2D                        36         Mapped to Edge TPU\n"
            "TRANSPOSE                      70         Operation not supported\n")
    (segment,) = parse_compiler_output(text).segments
    assert [(r.op, r.count, r.status) for r in segment.ops] == [
        ("CONV_2D", 36, "Mapped to Edge TPU"), ("TRANSPOSE", 70, "Operation not supported")]


@pytest.mark.parametrize("text, expected", [
    ("0.00B", 0), ("7.75KiB", 7936), ("6.02MiB", round(6.02 * 2**20)), ("1.5GiB", 3 * 2**29), ("12 B", 12),
    ("lots", None),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected
