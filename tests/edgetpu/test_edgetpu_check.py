"""The pre-flight check on models built and converted inside the tests (see edgetpu_models)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgekit.edgetpu import ON_CHIP_BYTES, check_edgetpu
from edgekit.edgetpu.check import CPU, MAPPED, STATUS_AFTER, STATUS_RANK, STATUS_UNSUPPORTED, TPU
from edgekit.runtime import describe
from edgekit.runtime.tflite_file import _pack, _unpack, flatbuffer_schema as _schema

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def _names(check):
    return [op.name for op in check.ops]


def test_full_int8_conv_net_maps_every_op(edgetpu_models):
    check = check_edgetpu(edgetpu_models["int8"])
    assert check.compiles and check.failure is None
    assert _names(check) == ["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "CONV_2D", "CONV_2D", "MEAN",
                             "FULLY_CONNECTED", "SOFTMAX"]
    assert all(op.where == TPU and op.status == MAPPED for op in check.ops)
    assert check.tpu_ops == 8 and check.cpu_ops == 0 and check.mapped_fraction == 1.0
    assert check.tpu_subgraphs == 1 and check.blockers == () and check.fixes == ()
    assert check.verdict == "all 8 ops predicted on the Edge TPU"
    # MACs at the stored shapes: conv 16x16x8 x 3x3x3, depthwise 16x16x8 x 3x3, two convs
    # 8x8x8 x 3x3x8, dense 4 x 8
    assert check.total_macs == 16 * 16 * 8 * 27 + 16 * 16 * 8 * 9 + 2 * 8 * 8 * 8 * 72 + 4 * 8
    assert check.mac_fraction == 1.0
    assert 0 < check.tpu_param_bytes < ON_CHIP_BYTES and check.streamed_bytes == 0


def test_float_io_is_a_blocker_at_the_edges_with_the_fix(edgetpu_models):
    check = check_edgetpu(edgetpu_models["float_io"])
    first, last = check.ops[0], check.ops[-1]
    assert (first.name, first.where, first.edge) == ("QUANTIZE", CPU, True)
    assert (last.name, last.where, last.edge) == ("DEQUANTIZE", CPU, True)
    assert "float" in first.reason and "edge" in first.reason
    assert all(op.where == TPU for op in check.ops[1:-1])  # the edges do not split the graph
    assert check.tpu_ops == 8 and check.cpu_ops == 2 and check.mac_fraction == 1.0
    (blocker,) = check.blockers
    assert blocker.kind == "float-io" and blocker.ops == (0, len(check.ops) - 1)
    assert "--int8 --io int8" in blocker.fix and check.fixes == (blocker.fix,)
    assert check.verdict.startswith("8 of 10 ops (80%) and 100% of the MACs")


def test_float_model_maps_nothing_not_quantized(edgetpu_models):
    check = check_edgetpu(edgetpu_models["float32"])
    assert not check.compiles and check.failure == "Model not quantized"
    assert check.tpu_ops == 0 and check.tpu_subgraphs == 0 and check.mapped_fraction == 0.0
    assert all(op.where == CPU and "Model not quantized" in op.reason for op in check.ops)
    (blocker,) = check.blockers
    assert blocker.kind == "not-quantized" and "not quantized" in blocker.message
    assert "--int8" in blocker.fix
    assert "predicted to fail" in check.verdict


def test_unsupported_op_in_the_middle_splits_the_graph(edgetpu_models):
    check = check_edgetpu(edgetpu_models["leaky"])
    split = _names(check).index("LEAKY_RELU")
    assert split == 4
    assert all(op.where == TPU for op in check.ops[:split])
    leaky = check.ops[split]
    assert leaky.where == CPU and leaky.status == STATUS_UNSUPPORTED
    assert "ReLU" in leaky.fix
    after = check.ops[split + 1:]
    assert after and all(op.where == CPU and op.status == STATUS_AFTER for op in after)
    assert all(f"after op {split} (LEAKY_RELU)" in op.reason for op in after)
    assert check.tpu_subgraphs == 1 and check.tpu_ops == split
    (blocker,) = check.blockers
    assert blocker.kind == "unsupported-op" and blocker.ops[0] == split
    assert f"the {len(after)} ops after it run on the CPU" in blocker.message
    assert 0 < check.mac_fraction < 1

    # the compiler's -a: later supported ops map again, in a second Edge TPU subgraph
    many = check_edgetpu(edgetpu_models["leaky"], multiple_subgraphs=True)
    assert [op.where for op in many.ops] == [TPU] * split + [CPU] + [TPU] * len(after)
    assert many.tpu_subgraphs == 2 and many.multiple_subgraphs


def test_dynamic_batch_stops_the_compiler(edgetpu_models):
    assert -1 in describe(edgetpu_models["dynamic"].read_bytes()).inputs[0].shape_signature
    check = check_edgetpu(edgetpu_models["dynamic"])
    assert not check.compiles and "dynamic-sized tensors" in check.failure
    (blocker,) = check.blockers
    assert blocker.kind == "dynamic-shape" and "--batch 1" in blocker.fix
    assert check.tpu_ops == 0


def test_batch_of_two_breaks_the_three_dimensions_rule(edgetpu_models):
    check = check_edgetpu(edgetpu_models["batch2"])
    assert check.compiles and check.tpu_ops == 0
    assert check.ops[0].status == STATUS_RANK and "[2, 16, 16, 3]" in check.ops[0].reason
    assert check.fixes[0].startswith("fix the batch with --batch 1")
    assert {b.kind for b in check.blockers} == {"rank", "limitation"}


def test_model_larger_than_on_chip_memory_streams_from_host(edgetpu_models):
    check = check_edgetpu(edgetpu_models["heavy"])
    assert check.compiles and check.tpu_ops == len(check.ops)
    assert check.tpu_param_bytes > ON_CHIP_BYTES
    assert check.streamed_bytes == check.tpu_param_bytes - ON_CHIP_BYTES > 0
    (blocker,) = check.blockers
    assert blocker.kind == "memory" and "stream from host memory" in blocker.message
    assert "--segments 2" in blocker.fix


def test_check_result_is_json(edgetpu_models):
    data = json.loads(json.dumps(check_edgetpu(edgetpu_models["leaky"]).to_json()))
    assert data["ops"][4]["name"] == "LEAKY_RELU" and data["ops"][4]["where"] == "CPU"
    assert data["blockers"][0]["ops"][0] == 4 and isinstance(data["fixes"], list)


# -- edits of a checked-in model (no TensorFlow): op versions and op options ------------


def _edited(edit) -> bytes:
    schema = _schema()
    model = _unpack((FIXTURES / "int8.tflite").read_bytes(), "int8.tflite")
    edit(model, schema)
    return _pack(model, schema, 65536)


def test_op_version_newer_than_the_compiler_is_predicted_to_stop_it():
    def bump_conv(model, schema):
        code = next(c for c in model.operatorCodes if c.builtinCode == schema.BuiltinOperator.CONV_2D)
        code.version = 6  # CONV_2D v6 came with TFLite 2.9 (google-coral/edgetpu#631)

    check = check_edgetpu(_edited(bump_conv))
    assert not check.compiles
    assert check.failure == "Didn't find op for builtin opcode 'CONV_2D' version '6'"
    assert check.blockers[0].kind == "op-version"


def test_op_added_after_the_compiler_is_predicted_to_stop_it():
    def relabel_softmax_as_gelu(model, schema):  # GELU: TFLite 2.9, builtin code 150
        code = next(c for c in model.operatorCodes if c.builtinCode == schema.BuiltinOperator.SOFTMAX)
        code.builtinCode, code.version = schema.BuiltinOperator.GELU, 1

    check = check_edgetpu(_edited(relabel_softmax_as_gelu))
    assert check.failure == "Didn't find op for builtin opcode 'GELU' version '1'"
    (blocker,) = check.blockers
    assert "GELU (op 3) is a TFLite op added after edgetpu_compiler 16.0" in blocker.message
    assert blocker.fix == "replace GELU by ReLU6 (or ReLU)"


def _dilate_conv(model, schema):
    model.subgraphs[0].operators[0].builtinOptions.dilationWFactor = 2  # x 2, y 1


def _mean_over_batch(model, schema):
    mean = model.subgraphs[0].operators[1]
    axes = model.subgraphs[0].tensors[mean.inputs[1]]
    model.buffers[axes.buffer].data = np.array([0, 1], dtype=np.int32).view(np.uint8)


def _square_softmax(model, schema):
    softmax = model.subgraphs[0].operators[-1]
    for index in (softmax.inputs[0], softmax.outputs[0]):
        model.subgraphs[0].tensors[index].shape = np.array([3, 3], dtype=np.int32)


@pytest.mark.parametrize("edit, op, words", [
    (_dilate_conv, 0, "dilation differs in x (2) and y (1)"),
    (_mean_over_batch, 1, "reduces the batch dimension"),
    (_square_softmax, 2, "FULLY_CONNECTED output [3, 3] is not one-dimensional"),
])
def test_known_limitations_from_coral_table(edit, op, words):
    check = check_edgetpu(_edited(edit))
    assert check.ops[op].where == CPU and words in check.ops[op].reason
    assert check.blockers[0].kind == "limitation" and check.blockers[0].ops[0] == op
    # the first op that cannot be mapped ends the one Edge TPU subgraph
    assert all(p.where == CPU for p in check.ops[op:])
    if edit is _square_softmax:  # the softmax breaks its own rule too, and says so
        assert "only a 1-D input" in check.ops[3].reason


def test_check_runs_without_tensorflow():
    script = textwrap.dedent(
        """
        import json, sys
        BLOCKED = {"tensorflow", "keras", "tf_keras", "tensorflow_model_optimization"}

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(name + " is blocked in this test")

        sys.meta_path.insert(0, Blocker())
        from edgekit.edgetpu import check_edgetpu, parse_compiler_output
        check = check_edgetpu(sys.argv[1])
        print(json.dumps({"verdict": check.verdict,
                          "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script, str(FIXTURES / "int8.tflite")], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"verdict": "all 4 ops predicted on the Edge TPU", "loaded": []}


@pytest.mark.parametrize("name", ["uint8", "int8"])
def test_integer_io_fixtures_map_fully(name):
    check = check_edgetpu(FIXTURES / f"{name}.tflite")
    assert check.cpu_ops == 0 and check.tpu_subgraphs == 1


def test_an_already_compiled_file_is_recognised():
    # an in-memory edit (never written to disk): the CONV_2D's opcode becomes Coral's custom op
    def as_custom(model, schema):
        code = next(c for c in model.operatorCodes if c.builtinCode == schema.BuiltinOperator.CONV_2D)
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
        code.customCode = "edgetpu-custom-op"

    check = check_edgetpu(_edited(as_custom))
    assert check.compiled_subgraphs == 1 and check.ops[0].where == TPU
    assert "compiled earlier" in check.ops[0].reason
    assert any("already compiled" in w for w in check.warnings)
