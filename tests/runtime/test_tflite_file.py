"""Reading and writing the TFLite flatbuffer without TensorFlow: describe, metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runtime_fixtures import MODEL_NAMES, expected, fixture_bytes  # noqa: F401 (fixture)

from edgekit_testing import make_manifest

from edgekit import runtime
from edgekit.artifact import embed, read_embedded
from edgekit.errors import BadInputError
from edgekit.runtime import (
    MANIFEST_METADATA_NAME,
    describe,
    embed_metadata,
    read_metadata,
)


def _outputs(data: bytes, images: np.ndarray) -> np.ndarray:
    return runtime.Model.from_bytes(data).predict(images, raw=True)


# -- describe --------------------------------------------------------------------------


def test_describe_float_model():
    info = describe(fixture_bytes("float32"))
    assert info.size_bytes == len(fixture_bytes("float32"))
    assert info.version == 3 and info.subgraph_count == 1
    assert info.op_histogram == {"CONV_2D": 1, "MEAN": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}
    assert [op.name for op in info.ops] == ["CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
    assert [op.index for op in info.ops] == [0, 1, 2, 3]
    assert info.fully_integer is False
    assert set(info.float_ops) == {"CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"}
    assert info.dynamic_shapes is False
    (image,) = info.inputs
    assert image.shape == (1, 8, 8, 3) and image.dtype == "float32" and not image.quantized
    # float32 conv kernel 4x3x3x3 + bias 4, dense kernel 3x4, int32 pool axes (2,);
    # the dense bias is all zeros, so the converter dropped it (an omitted input, -1)
    assert info.param_bytes == (108 + 4 + 12) * 4 + 2 * 4
    assert info.ops[2].inputs[2] == -1
    assert "min_runtime_version" in info.metadata_names
    assert info.signatures["serving_default"]["inputs"] == {"image": 0}


def test_describe_int8_model():
    info = describe(fixture_bytes("int8"))
    assert info.fully_integer is True and info.float_ops == ()
    assert info.op_histogram == {"CONV_2D": 1, "MEAN": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}
    (image,) = info.inputs
    assert image.dtype == "int8" and image.zero_points == (-128,)
    assert image.scales == pytest.approx((1 / 255,), rel=1e-4)
    conv = info.ops[0]
    kernel = info.tensors[conv.inputs[1]]
    assert kernel.is_constant and kernel.dtype == "int8" and kernel.constant_bytes == 108
    assert len(kernel.scales) == 4 and kernel.quantized_dimension == 0  # per channel
    assert conv.version >= 1 and conv.custom_code is None


def test_describe_uint8_model_has_quantize_ops_and_is_integer():
    info = describe(fixture_bytes("uint8"))
    assert info.op_histogram["QUANTIZE"] == 2
    assert info.fully_integer is True
    assert info.inputs[0].dtype == "uint8" and info.outputs[0].dtype == "uint8"


def test_describe_to_dict_is_json():
    for name in MODEL_NAMES:
        data = describe(fixture_bytes(name)).to_dict()
        text = json.dumps(data)
        assert json.loads(text)["op_histogram"] == data["op_histogram"]
        assert isinstance(data["tensors"][0]["shape"], list)


def test_describe_random_bytes_raise_bad_input():
    rng = np.random.default_rng(0)
    for _ in range(200):
        data = bytearray(rng.integers(0, 256, int(rng.integers(8, 2000)), np.uint8).tobytes())
        data[4:8] = b"TFL3"
        with pytest.raises(BadInputError, match="is not a valid TFLite flatbuffer"):
            describe(bytes(data), "random.tflite")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_describe_truncated_or_corrupted_never_crashes(name):
    data = fixture_bytes(name)
    rng = np.random.default_rng(1)
    variants = [data[:cut] for cut in range(8, len(data), 5)]
    for _ in range(300):
        flipped = bytearray(data)
        for i in rng.integers(8, len(data), 3):
            flipped[i] = int(rng.integers(0, 256))
        variants.append(bytes(flipped))
    for variant in variants:
        for call in (describe, lambda d: read_metadata(d, "x"), lambda d: embed_metadata(d, "x", b"1")):
            try:
                call(variant)
            except BadInputError:
                pass


def test_describe_rejects_non_tflite():
    with pytest.raises(BadInputError, match="x.onnx is not a TFLite model"):
        describe(b"\x08\x07\x12\x04onnx", "x.onnx")


# -- metadata --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["float32", "int8", "two_inputs"])
def test_embed_metadata_round_trip_keeps_outputs(expected, name):
    data = fixture_bytes(name)
    embedded = embed_metadata(data, "notes", b"hello \x00 bytes")
    assert embedded[4:8] == b"TFL3"
    assert read_metadata(embedded, "notes") == b"hello \x00 bytes"
    assert read_metadata(data, "notes") is None
    assert describe(embedded).metadata_names[-1] == "notes"
    if name == "two_inputs":
        x = [expected["alpha"], expected["beta"]]
        before, after = _outputs(data, x), _outputs(embedded, x)
        for key in before:
            np.testing.assert_array_equal(before[key], after[key])
    else:
        np.testing.assert_array_equal(
            _outputs(data, expected["images"]), _outputs(embedded, expected["images"])
        )


def test_embed_metadata_replaces_an_entry():
    data = embed_metadata(fixture_bytes("int8"), "notes", b"first")
    replaced = embed_metadata(data, "notes", b"second, longer payload")
    assert read_metadata(replaced, "notes") == b"second, longer payload"
    names = describe(replaced).metadata_names
    assert names.count("notes") == 1
    assert len(replaced) < len(data) + 64  # the old payload is not left behind
    # other entries survive
    assert read_metadata(replaced, "min_runtime_version") == read_metadata(
        fixture_bytes("int8"), "min_runtime_version"
    )


def test_embedded_buffers_stay_16_byte_aligned():
    from ai_edge_litert import schema_py_generated as schema

    embedded = embed_metadata(fixture_bytes("float32"), "notes", b"abc")
    model = schema.Model.GetRootAs(embedded, 0)
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if not buffer.DataIsNone() and buffer.DataLength() > 0:
            start = buffer._tab.Vector(4)
            assert start % 16 == 0, (i, start)


def test_manifest_round_trip():
    manifest = make_manifest(labels=("a", "b", "c"))
    embedded = embed(fixture_bytes("float32"), manifest)
    assert read_embedded(embedded) == manifest
    assert MANIFEST_METADATA_NAME in describe(embedded).metadata_names
    assert read_embedded(fixture_bytes("float32")) is None


def test_malformed_manifest_is_bad_input():
    broken = embed_metadata(fixture_bytes("float32"), MANIFEST_METADATA_NAME, b"{not json")
    with pytest.raises(BadInputError, match="the manifest embedded in m.tflite is not valid JSON"):
        read_embedded(broken, "m.tflite")
    listed = embed_metadata(fixture_bytes("float32"), MANIFEST_METADATA_NAME, b"[1, 2]")
    with pytest.raises(BadInputError, match="JSON list, not an object"):
        read_embedded(listed)


def test_embed_rejects_text_payload():
    with pytest.raises(BadInputError, match="payload must be bytes; received str"):
        embed_metadata(fixture_bytes("float32"), "notes", "text")


def test_external_buffers_are_read_and_moved_inline(expected):
    """Buffers stored after the flatbuffer (Buffer.offset/size, used for >2 GB models)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(fixture_bytes("float32"), 0)
    sizes = {}
    tail = b""
    builder_payload = []
    for index, buffer in enumerate(model.buffers):
        if buffer.data is not None and len(buffer.data) > 0:
            builder_payload.append((index, bytes(buffer.data)))
            sizes[index] = len(buffer.data)
            buffer.data = None
            buffer.offset, buffer.size = 1, sizes[index]  # placeholder, patched below

    def pack(offsets):
        for index, _ in builder_payload:
            model.buffers[index].offset = offsets.get(index, 1)
        builder = flatbuffers.Builder(0)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    head = pack({})
    start = (len(head) + 15) // 16 * 16
    offsets, position = {}, start
    for index, payload in builder_payload:
        offsets[index] = position
        tail += payload + b"\x00" * (-len(payload) % 16)
        position = start + len(tail)
    head = pack(offsets)
    assert len(head) <= start  # offsets are fixed-width, so the size did not change
    external = head + b"\x00" * (start - len(head)) + tail

    info = describe(external)
    assert info.param_bytes == describe(fixture_bytes("float32")).param_bytes
    assert read_metadata(external, "min_runtime_version") == read_metadata(
        fixture_bytes("float32"), "min_runtime_version"
    )
    inline = embed_metadata(external, "notes", b"x")
    assert len(inline) < len(external) + 512
    np.testing.assert_array_equal(
        _outputs(inline, expected["images"]), _outputs(fixture_bytes("float32"), expected["images"])
    )
