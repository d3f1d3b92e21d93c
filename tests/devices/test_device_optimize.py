"""`edgekit optimize --device` against the stand-in Raspberry Pi (real sshd on 127.0.0.1,
aarch64 CPython under qemu-user): the device is checked before anything is converted, the
artifacts go up once, every thread count and XNNPACK setting is measured there, and nothing is
left behind. Latencies under qemu mean nothing: only the plumbing and the pick's logic are
checked. (Here rather than in tests/optimize, to share this folder's session stand-in Pi.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from standin_pi import BOARD, free_port, wait_clean
from edgekit_testing import assert_clean_error, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "optimize"))
from optimize_checks import assert_pick_is_right  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.convert]
FAST = ("--runs", "5", "--min-time", "0", "--warmup", "1", "--warmup-time", "0")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A small digits CNN (float32 and float16 candidates need no calibration)."""
    keras = pytest.importorskip("keras")
    from edgekit.data import digits_split
    from edgekit.models.reference import train_classifier

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    train, _ = digits_split(seed=0)
    train_classifier(model, train.x, train.y, epochs=3)
    path = tmp_path_factory.mktemp("small") / "small.keras"
    model.save(path)
    return path


def test_optimize_on_the_standin_pi(lab, rpi_setup, small_model, tmp_path):
    _, project, _ = rpi_setup
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("optimize", small_model, "--recipes", "float32,float16", "--eval", "digits", "--min-agreement",
                     "0.9", "--device", "rpi", "--threads", "1,2", *FAST, "--json", "-o", out, cwd=project, timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    pick = assert_pick_is_right(data)
    target = data["target"]
    assert target["devices"] == ["rpi"] and target["system"]["board"] == BOARD
    assert target["system"]["machine"] == "aarch64" and target["backend"] == "litert"
    measured = [c for c in data["candidates"] if c["timed"]]
    assert {(c["threads"], c["xnnpack"]) for c in measured if c["artifact"] == pick["artifact"]} == \
        {(1, True), (1, False), (2, True), (2, False)}
    assert all(c["latency_ms"] > 0 and c["memory_mib"] is not None for c in measured)
    skipped = [c for c in data["candidates"] if c["status"] == "skipped"]
    assert all("dominated by" in c["reasons"][0] for c in skipped)
    assert len(measured) + len(skipped) == 8                                   # 2 artifacts x 2 threads x 2
    assert result.stderr.count("uploading") == 1                               # one upload for every setting
    assert result.stderr.index("checking rpi") < result.stderr.index("converting")  # checked first
    manifest = json.loads((out / "small_optimized.json").read_text())
    assert manifest["optimize"]["target"]["devices"] == ["rpi"] and manifest["optimize"]["pick"] == pick["id"]
    assert wait_clean(lab.workdir) == []


def test_an_unreachable_device_fails_before_converting(lab, small_model, tmp_path):
    project = lab.inventory(tmp_path / "project", {"gone": {"port": free_port()}})
    result = run_cli("optimize", small_model, "--recipes", "float16", "--device", "gone", "-o", tmp_path, cwd=project)
    assert_clean_error(result, 4, "gone", "connection refused")
    assert "converting" not in result.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_a_device_without_the_runtime_says_how_to_install_it(lab, small_model, tmp_path):
    project = lab.inventory(tmp_path / "project", {"bare": {"workdir": str(tmp_path / "bare-home")}})
    result = run_cli("optimize", small_model, "--recipes", "float16", "--device", "bare", "-o", tmp_path, cwd=project)
    assert_clean_error(result, 4, "bare: the edgekit runtime is not usable on the device", "edgekit device setup bare")
    assert "converting" not in result.stderr
