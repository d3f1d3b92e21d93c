"""Coral Edge TPU support in the runtime: list_edge_tpus(), the delegate chosen automatically for
compiled models, and the one-line refusals.

No Edge TPU and no libedgetpu exist on test machines (the library comes from Coral's apt
repository, not PyPI), and nothing here fakes them. What these tests cannot check: listing real
devices, loading the delegate and running a model on one, and the message for "libedgetpu
installed but no device attached" (it needs the library). They check everything up to the
point where libedgetpu is needed, and that its absence is said in one line naming the package.
"""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest

from runtime_fixtures import fixture_bytes, fixture_path

from edgekit import runtime
from edgekit.errors import BadInputError, DeviceError
from edgekit.runtime.edgetpu import check_device, is_edgetpu_model, library_name


def _libedgetpu_installed() -> bool:
    try:
        ctypes.CDLL(library_name())
    except OSError:
        return False
    return True


needs_no_libedgetpu = pytest.mark.skipif(_libedgetpu_installed(), reason="libedgetpu is installed here")


def _with_edgetpu_op() -> bytes:
    """The int8 fixture with its CONV_2D's opcode turned into the compiler's custom op (as in a
    compiled file; it cannot run anywhere without an Edge TPU)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(fixture_bytes("int8"), 0)
    code = next(c for c in model.operatorCodes if c.builtinCode == schema.BuiltinOperator.CONV_2D)
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "edgetpu-custom-op"
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@needs_no_libedgetpu
def test_list_edge_tpus_says_what_to_install():
    with pytest.raises(DeviceError) as info:
        runtime.list_edge_tpus()
    message = str(info.value)
    assert "Edge TPU runtime library libedgetpu.so.1 is not installed" in message
    assert "sudo apt-get install libedgetpu1-std" in message and "Coral's apt repository" in message
    assert "\n" not in message


@needs_no_libedgetpu
def test_compiled_models_get_the_delegate_without_asking(tmp_path):
    """A *_edgetpu.tflite name, or the compiler's custom op under any name, means the Edge TPU:
    load() asks for the delegate, which here fails for want of libedgetpu (not with an
    unknown-op error from the CPU interpreter)."""
    named = tmp_path / "model_int8_edgetpu.tflite"
    shutil.copyfile(fixture_path("int8"), named)
    compiled = tmp_path / "renamed.tflite"
    compiled.write_bytes(_with_edgetpu_op())
    assert is_edgetpu_model(named) and is_edgetpu_model(compiled, compiled.read_bytes())
    assert not is_edgetpu_model(fixture_path("int8"), fixture_bytes("int8"))
    for path, device in ((named, None), (compiled, "pci:0")):
        with pytest.raises(DeviceError, match="libedgetpu.so.1 is not installed"):
            runtime.load(path, device=device)
    plain = runtime.load(fixture_path("int8"))  # an ordinary int8 model stays on the CPU
    assert plain.predict(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)


@pytest.mark.parametrize("device", ["usb", "pci", "usb:0", "pci:1", ":0", None])
def test_device_names_libedgetpu_accepts(device):
    check_device(device)


@pytest.mark.parametrize("device", ["usb0", "gpu", "usb:", "usb:a", "", " usb"])
def test_other_device_names_are_refused(device):
    with pytest.raises(BadInputError, match="is not an Edge TPU device name; use usb, usb:0, pci, pci:0 or :0"):
        check_device(device)
    with pytest.raises(BadInputError, match="is not an Edge TPU device name"):
        runtime.load(fixture_path("int8"), delegate="edgetpu", device=device)
