"""make_interpreter: backends, threads, the Edge TPU delegate, and their errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from runtime_fixtures import expected, fixture_bytes  # noqa: F401 (fixture)

from edgekit.errors import BadInputError, DeviceError, MissingDependencyError, UsageError
from edgekit.runtime import BACKENDS, Model, make_interpreter
from edgekit.runtime import interpreter as interpreter_module


def test_auto_picks_litert():
    interpreter, backend = make_interpreter(fixture_bytes("float32"))
    assert backend == "litert"
    assert type(interpreter).__module__.startswith("ai_edge_litert")
    assert interpreter.get_input_details()[0]["shape"].tolist() == [1, 8, 8, 3]


def test_unknown_backend_lists_the_allowed_ones():
    with pytest.raises(UsageError, match="unknown interpreter backend 'tflite'.*auto, litert, tflite-runtime, tf"):
        make_interpreter(fixture_bytes("float32"), backend="tflite")


def test_unknown_delegate():
    with pytest.raises(UsageError, match="unknown delegate 'gpu'; use one of: edgetpu"):
        make_interpreter(fixture_bytes("float32"), delegate="gpu")


def test_device_without_delegate():
    with pytest.raises(UsageError, match="'usb' names an Edge TPU but this model runs on the CPU"):
        make_interpreter(fixture_bytes("float32"), device="usb")


def test_edgetpu_without_runtime_is_a_device_error(monkeypatch):
    def fail(library, options=None):
        assert options == {"device": "usb:0"}
        raise ValueError(f"Failed to load delegate from {library}")

    monkeypatch.setitem(interpreter_module._IMPORTERS, "litert", lambda: (object, fail))
    monkeypatch.setattr(interpreter_module.ctypes, "CDLL", lambda library: None)
    with pytest.raises(DeviceError) as info:
        make_interpreter(fixture_bytes("int8"), delegate="edgetpu", device="usb:0")
    message = str(info.value)
    assert "libedgetpu" in message and "libedgetpu1-std" in message
    assert "plug in the device" in message and "'usb:0'" in message


@pytest.mark.skipif(
    importlib.util.find_spec("ai_edge_litert") is None, reason="needs ai-edge-litert"
)
def test_edgetpu_real_load_fails_cleanly_here():
    # No Edge TPU runtime is installed on test machines: the real loader must fail cleanly.
    try:
        make_interpreter(fixture_bytes("int8"), backend="litert", delegate="edgetpu")
    except DeviceError as exc:
        assert "Edge TPU runtime" in str(exc)
    else:  # pragma: no cover - a machine with a Coral attached
        pytest.skip("an Edge TPU is attached")


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_threads_must_be_a_positive_int(threads):
    with pytest.raises(UsageError, match=f"`threads` must be a whole number from 1 to 256.*{threads!r}"):
        make_interpreter(fixture_bytes("float32"), threads=threads)


def test_threads_are_passed_on():
    model = Model.from_bytes(fixture_bytes("float32"), threads=1)
    assert model.threads == 1


def test_forced_missing_backend_names_the_package(monkeypatch):
    def missing():
        raise interpreter_module._BackendUnavailable("tflite-runtime is not installed")

    monkeypatch.setitem(interpreter_module._IMPORTERS, "tflite-runtime", missing)
    with pytest.raises(MissingDependencyError, match="pip install tflite-runtime"):
        make_interpreter(fixture_bytes("float32"), backend="tflite-runtime")


def test_tflite_runtime_import_failure_mentions_numpy(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("tflite_runtime"):
            raise ImportError("numpy.core.multiarray failed to import")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError) as info:
        make_interpreter(fixture_bytes("float32"), backend="tflite-runtime")
    assert "numpy<2" in str(info.value) and "fails to import" in str(info.value)


def test_auto_falls_back_in_order(monkeypatch):
    calls = []

    def missing(name):
        def importer():
            calls.append(name)
            raise interpreter_module._BackendUnavailable(f"{name} is not installed")

        return importer

    for name in BACKENDS:
        monkeypatch.setitem(interpreter_module._IMPORTERS, name, missing(name))
    with pytest.raises(MissingDependencyError, match="no TFLite interpreter.*pip install ai-edge-litert"):
        make_interpreter(fixture_bytes("float32"))
    assert calls == list(BACKENDS)


def test_interpreter_errors_name_the_source():
    with pytest.raises(BadInputError, match=r"^m\.tflite cannot be loaded by the litert interpreter: "):
        make_interpreter(b"\x00\x00\x00\x00TFL3", source="m.tflite")


@pytest.mark.convert
@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs tensorflow")
def test_tf_backend_gives_the_same_outputs(expected):
    litert = Model.from_bytes(fixture_bytes("int8"), backend="litert")
    tf_model = Model.from_bytes(fixture_bytes("int8"), backend="tf")
    assert tf_model.backend == "tf"
    images = expected["images"]
    np.testing.assert_array_equal(tf_model.predict(images, raw=True), litert.predict(images, raw=True))
