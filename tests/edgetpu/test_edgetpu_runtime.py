"""The Coral runtime path: loading with delegate="edgetpu" where no Edge TPU runtime exists."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from edgekit.errors import DeviceError
from edgekit.runtime import load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="needs ai-edge-litert")
@pytest.mark.parametrize("device", ["usb", "usb:0", "pci:0"])
def test_missing_edgetpu_runtime_names_what_to_install(tmp_path, device):
    # a file named like a compiled model; without libedgetpu the delegate cannot even load
    model = tmp_path / "model_int8_edgetpu.tflite"
    shutil.copyfile(FIXTURES / "int8.tflite", model)
    try:
        load(model, delegate="edgetpu", device=device)
    except DeviceError as exc:
        message = str(exc)
    else:  # pragma: no cover - a machine with a Coral attached and its runtime installed
        pytest.skip("an Edge TPU is attached")
    assert "libedgetpu.so.1" in message and "libedgetpu1-std" in message
    assert "Coral's apt repository" in message and f"'{device}'" in message
    assert "plug in the device" in message
