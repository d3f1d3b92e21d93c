"""Crash isolation: a model that crashes, hangs or exhausts the interpreter in the child
becomes one BadInputError line; this process carries on."""

from __future__ import annotations

import sys

import flatbuffers
import numpy as np
import pytest

from edgekit.errors import BadInputError
from edgekit.runtime import load
from edgekit.runtime.probe import probe_model
from edgekit_testing import FIXTURES

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_a_good_model_passes_the_probe_and_loads():
    model = load(FIXTURES / "int8.tflite", isolate=True)
    assert model.predict(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 3)


def test_a_crash_in_the_child_becomes_one_line(tmp_path):
    # FAKE interpreter process: a stand-in "python" that runs the real probe module but
    # dereferences NULL when it reaches the allocation phase, i.e. a real SIGSEGV in a real
    # child process. (No .tflite found here crashes ai-edge-litert 2.3 from bytes; the
    # parent's handling is what is under test.)
    fake = tmp_path / "crashing-python"
    fake.write_text(
        "#!/bin/sh\n"
        f"exec {sys.executable} -c \""
        "import ctypes, sys, runpy; "
        "real = print; "
        "import builtins; "
        "builtins.print = lambda *a, **k: (real(*a, **k), a and a[0] == 'phase: allocate' and ctypes.string_at(0)); "
        "sys.argv = ['probe'] + sys.argv[3:]; "
        "runpy.run_module('edgekit.runtime.probe', run_name='__main__')\" \"$@\"\n"
    )
    fake.chmod(0o755)
    with pytest.raises(BadInputError) as info:
        probe_model(FIXTURES / "int8.tflite", python=str(fake))
    assert info.value.message == (
        "int8.tflite: the model crashed the interpreter with SIGSEGV while allocating tensors; "
        "the file is malformed or uses an op this interpreter cannot run"
    )


def test_a_hang_is_cut_off_by_the_time_limit():
    with pytest.raises(BadInputError, match=r"hung the interpreter \(no result within 0.001 s"):
        probe_model(FIXTURES / "int8.tflite", timeout=0.001)


def test_memory_limit_turns_into_an_error(tmp_path):
    """A model whose tensors need ~300 MB, under a 1000 MiB address-space limit."""
    model = schema.ModelT.InitFromPackedBuf((FIXTURES / "float32.tflite").read_bytes(), 0)
    tensors = model.subgraphs[0].tensors
    tensors[0].shape = np.array([1, 3000, 3000, 3], np.int32)
    tensors[5].shape = np.array([1, 2998, 2998, 4], np.int32)
    path = tmp_path / "big.tflite"
    path.write_bytes(_pack(model))
    with pytest.raises(BadInputError, match="big.tflite"):
        probe_model(path, memory_mib=1000)


@pytest.mark.parametrize("edit,words", [
    (lambda sg: setattr(sg.tensors[1], "shape", np.array([3, 4000], np.int32)), "invalidly specified"),
    (lambda sg: setattr(sg.operators[0], "inputs", np.array([0, 99, 2], np.int32)), "Invalid tensor index"),
])
def test_structural_lies_are_reported_not_crashed(tmp_path, edit, words):
    model = schema.ModelT.InitFromPackedBuf((FIXTURES / "float32.tflite").read_bytes(), 0)
    edit(model.subgraphs[0])
    path = tmp_path / "lie.tflite"
    path.write_bytes(_pack(model))
    with pytest.raises(BadInputError, match=words):
        load(path, isolate=True)
