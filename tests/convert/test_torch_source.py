"""PyTorch in: a small CNN trained here on scikit-learn's digits, exported with torch.export,
converted by litert-torch and quantized by LiteRT Quantizer; every artifact is verified
against the PyTorch program's own outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgekit_testing import REPO, assert_clean_error, run_cli

torch = pytest.importorskip("torch", reason='PyTorch input needs: pip install "edgekit[torch]"')
pytest.importorskip("litert_torch", reason='PyTorch input needs: pip install "edgekit[torch]"')
pytest.importorskip("litert_quantizer", reason='PyTorch input needs: pip install "edgekit[torch]"')

from edgekit.convert import convert  # noqa: E402
from edgekit.errors import BadInputError, UsageError  # noqa: E402
from edgekit.quantize import Recipe  # noqa: E402
from edgekit.runtime import load  # noqa: E402


class DigitsNet(torch.nn.Module):
    """Two convolutions, pooling, a linear layer and softmax, channels first (NCHW) as in PyTorch."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = torch.nn.functional.max_pool2d(x, 2)
        return torch.softmax(self.fc(x.flatten(1)), dim=-1)


class Scaled(torch.nn.Module):
    def forward(self, x, factor: int):
        return x * factor


class Normalized(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(1)

    def forward(self, x):
        return self.norm(x).flatten(1)


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The trained CNN, its .pt2 (torch.export.save) and digits calibration/evaluation .npz."""
    from edgekit.data import digits_split

    folder = tmp_path_factory.mktemp("torch-digits")
    train, test = digits_split(seed=0, test_fraction=0.25)
    torch.manual_seed(0)
    model = DigitsNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    x, y = _nchw(train.x), torch.from_numpy(train.y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # faster than two threads on a busy two-core machine
    try:
        for _ in range(40):  # full batch: about a second
            optimizer.zero_grad()
            loss = torch.nn.functional.nll_loss(torch.log(model(x) + 1e-9), y)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    path = folder / "digits.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 8, 8),)), str(path))
    np.savez(folder / "calib.npz", x=train.x, y=train.y)
    np.savez(folder / "eval.npz", x=test.x, y=test.y)
    with torch.no_grad():
        accuracy = float((model(_nchw(test.x)).argmax(1).numpy() == test.y).mean())
    return {"folder": folder, "model": model, "path": path, "test": test, "accuracy": accuracy,
            "calib": str(folder / "calib.npz"), "eval": str(folder / "eval.npz")}


def test_float32_matches_pytorch_with_an_nhwc_input(exported, tmp_path):
    assert exported["accuracy"] >= 0.9  # a real classifier of the digits
    (artifact,) = convert(exported["path"], [Recipe("float32")], output=tmp_path).artifacts
    runtime = load(artifact.path)
    assert runtime.inputs[0].shape == (1, 8, 8, 1) and runtime.inputs[0].dtype == "float32"
    fixed = np.random.default_rng(1).random((16, 8, 8, 1), dtype=np.float32)
    with torch.no_grad():
        expected = exported["model"](_nchw(fixed)).numpy()
    np.testing.assert_allclose(runtime.predict(fixed), expected, atol=1e-4, rtol=0)
    m = artifact.manifest
    assert m.recipe.engine == "litert-torch" and m.source.format == "pt2"
    assert m.source.inputs[0].shape == (1, 8, 8, 1) and m.verification.max_abs_error <= 1e-4


def test_int8_agrees_with_pytorch_on_real_digits(exported, tmp_path):
    result = convert(exported["path"], [Recipe("int8"), Recipe("weight-only-int8")], calib=exported["calib"],
                     eval=exported["eval"], output=tmp_path)
    by_name = {a.recipe.name: a for a in result.artifacts}
    int8 = by_name["int8"]
    v = int8.verification
    assert int8.manifest.recipe.engine == "litert-quantizer"
    assert load(int8.path).inputs[0].dtype == "int8" and load(int8.path).inputs[0].shape == (1, 8, 8, 1)
    # against PyTorch's own outputs on 450 held-out digits: measured 0.998 agreement
    assert v.samples == 450 and v.top1_agreement >= 0.97
    assert abs(v.reference_accuracy - exported["accuracy"]) < 1e-9
    assert v.accuracy >= v.reference_accuracy - 0.02
    assert by_name["weight-only-int8"].verification.top1_agreement >= 0.98
    assert int8.manifest.size.ratio_vs_float32 < 0.5  # an 18 KB model: the flatbuffer overhead shows
    assert any("fed as NHWC" in note for note in result.notes)


def test_layout_nchw_keeps_the_model_layout(exported, tmp_path):
    (artifact,) = convert(exported["path"], [Recipe("float32")], layout="nchw", output=tmp_path).artifacts
    runtime = load(artifact.path)
    assert runtime.inputs[0].shape == (1, 1, 8, 8)
    fixed = np.random.default_rng(2).random((4, 1, 8, 8), dtype=np.float32)
    with torch.no_grad():
        expected = exported["model"](torch.from_numpy(fixed)).numpy()
    np.testing.assert_allclose(runtime.predict(fixed), expected, atol=1e-4, rtol=0)
    with pytest.raises(UsageError, match="`layout` must be nhwc"):
        convert(exported["path"], [Recipe("float32")], layout="NHWC?", output=tmp_path / "x.tflite")


def test_a_pickled_model_is_refused_unless_trusted(exported, tmp_path):
    pickled = tmp_path / "digits.pt"
    torch.save(exported["model"], pickled)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("convert", pickled, "--float32", "-o", out, cwd=tmp_path)
    assert_clean_error(result, 3, "digits.pt is a pickled PyTorch file", "torch.export.save", "--trust-model")
    assert not any(out.iterdir())
    with pytest.raises(UsageError, match="records no input shape"):
        convert(pickled, [Recipe("float32")], trust_model=True, output=out)
    (artifact,) = convert(pickled, [Recipe("float32")], trust_model=True, input_shape="1x1x8x8", output=out).artifacts
    assert artifact.manifest.source.kind == "pickled nn.Module (trusted)"
    assert artifact.verification.max_abs_error <= 1e-4


def test_programs_that_cannot_be_device_models_are_refused(tmp_path):
    scaled = tmp_path / "scaled.pt2"
    torch.export.save(torch.export.export(Scaled(), (torch.ones(1, 4), 3)), str(scaled))
    with pytest.raises(BadInputError, match=r"an input \(factor\) that is a int, not a tensor"):
        convert(scaled, [Recipe("float32")], output=tmp_path)
    training = tmp_path / "training.pt2"
    torch.export.save(torch.export.export(Normalized(), (torch.ones(2, 1, 8, 8),)), str(training))
    with pytest.raises(BadInputError, match=r"exported in training mode \(batch_norm"):
        convert(training, [Recipe("float32")], output=tmp_path)
    dynamic = tmp_path / "dynamic.pt2"
    size = torch.export.Dim("size", min=4, max=64)
    torch.export.save(torch.export.export(DigitsNet().eval(), (torch.zeros(1, 1, 8, 8),),
                                          dynamic_shapes={"x": {2: size * 2, 3: size * 2}}), str(dynamic))
    with pytest.raises(BadInputError, match=r"input 'x' has dynamic shape \[1, 1, None, None\].*`input_shape`"):
        convert(dynamic, [Recipe("float32")], output=tmp_path / "d.tflite")
    assert not (tmp_path / "d.tflite").exists()


def test_the_cli_converts_a_pt2_and_a_missing_extra_names_the_pip_line(exported, tmp_path):
    result = run_cli("convert", exported["path"], "--int8", "--calib", exported["calib"], "--eval", exported["eval"],
                     "-o", tmp_path, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    artifacts = {a["recipe"]: a for a in json.loads(result.stdout)["artifacts"]}
    assert artifacts["int8"]["engine"] == "litert-quantizer" and artifacts["int8"]["top1_agreement"] >= 0.97
    script = ("import importlib.abc, sys\n"
              "class Block(importlib.abc.MetaPathFinder):\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name.split('.')[0] == 'litert_torch':\n"
              "            raise ImportError('blocked for this test: ' + name)\n"
              "sys.meta_path.insert(0, Block())\n"
              "from edgekit.cli import main\nsys.argv = ['edgekit', *sys.argv[1:]]\nmain()\n")
    out = tmp_path / "missing"
    out.mkdir()
    blocked = subprocess.run([sys.executable, "-c", script, "convert", str(exported["path"]), "--float32", "-o",
                              str(out)], capture_output=True, text=True, cwd=tmp_path,
                             env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert_clean_error(blocked, 2, 'pip install "edgekit[torch]"', "litert_torch")
    assert not any(out.iterdir())
