"""Bad input to `edgekit train`: one line, exit 2 or 3, nothing written. Most are said before
TensorFlow is imported (about a second each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from edgekit_testing import REPO, assert_clean_error, run_cli
from train_helpers import small_folder


def _outputs(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("m."))


def _npz(path, x, y):
    np.savez(path, x=x.astype(np.float32), y=np.asarray(y))
    return path


@pytest.mark.parametrize("case, code, words", [
    ("empty folder", 3, ["has no images"]),
    ("one class", 3, ["one class ('a', 6 samples)", "at least 2 classes"]),
    ("class of one image", 3, ["fewer than 2 samples", "'b' (1)"]),
    ("flat folder", 3, ["no class folders"]),
    ("labels of another length", 3, ["labels y of shape (9,) for 10 samples"]),
    ("x without channels", 3, ["(n, height, width, channels)", "x[..., None]"]),
    ("mobilenetv2 at 16 px", 3, ["mobilenetv2 needs inputs of at least 32x32 px", "--input 32"]),
    ("mobilenetv2 on 8 px arrays", 3, ["at least 32x32", "save larger arrays"]),
    ("imagenet on grayscale arrays", 3, ["--weights imagenet were trained on RGB", "this data has 1"]),
    ("imagenet with --channels 1", 2, ["--weights imagenet", "--channels 3"]),
    ("imagenet for efficientnet-lite", 2, ["no ImageNet weights for efficientnet-lite"]),
    ("fine-tune from scratch", 2, ["--fine-tune", "--weights none"]),
    ("not a .keras output", 2, ["-o", "must name a .keras file"]),
    ("splits leave no training data", 2, ["less than 20%"]),
    ("edgetpu with float I/O", 2, ["--edgetpu needs integer inputs/outputs"]),
    ("unknown augmentation", 2, ["--augment 'blur' is unknown"]),
    ("missing weights file", 2, ["--weights", "no such file"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case, code, words):
    data = tmp_path / "data"
    extra = []
    if case == "empty folder":
        data.mkdir()
    elif case == "one class":
        small_folder(data, classes=("a",))
    elif case == "class of one image":
        small_folder(data)
        for extra_image in sorted((data / "b").iterdir())[1:]:
            extra_image.unlink()
    elif case == "flat folder":
        small_folder(tmp_path / "src")
        data.mkdir()
        for image in (tmp_path / "src" / "a").iterdir():
            shutil.copy(image, data / image.name)
    elif case == "labels of another length":
        data = _npz(tmp_path / "data.npz", np.zeros((10, 8, 8, 1)), np.zeros(9, np.int64))
    elif case == "x without channels":
        data = _npz(tmp_path / "data.npz", np.zeros((10, 8, 8)), np.arange(10) % 2)
    elif case in ("mobilenetv2 on 8 px arrays", "imagenet on grayscale arrays"):
        side = 8 if "8 px" in case else 32
        data = _npz(tmp_path / "data.npz", np.zeros((10, side, side, 1)), np.arange(10) % 2)
        extra = ["--arch", "mobilenetv2"] + (["--weights", "imagenet"] if "imagenet" in case else [])
    else:
        small_folder(data)
    extra += {
        "mobilenetv2 at 16 px": ["--arch", "mobilenetv2", "--input", "16"],
        "imagenet with --channels 1": ["--weights", "imagenet", "--channels", "1"],
        "imagenet for efficientnet-lite": ["--weights", "imagenet", "--arch", "efficientnet-lite", "--input", "32"],
        "fine-tune from scratch": ["--fine-tune", "3"],
        "splits leave no training data": ["--val-split", "0.5", "--test-split", "0.4"],
        "edgetpu with float I/O": ["--export", "int8", "--io", "float32", "--edgetpu"],
        "unknown augmentation": ["--augment", "flip,blur"],
        "missing weights file": ["--weights", str(tmp_path / "nothing.weights.h5")],
    }.get(case, [])
    output = tmp_path / ("m.h5" if case == "not a .keras output" else "m.keras")
    result = run_cli("train", data, "-o", output, *extra, cwd=tmp_path)
    assert_clean_error(result, code, *words)
    assert _outputs(tmp_path) == []


def test_existing_outputs_need_force(tmp_path):
    small_folder(tmp_path / "data")
    (tmp_path / "m.train.json").write_text("{}")
    result = run_cli("train", tmp_path / "data", "-o", tmp_path / "m.keras", cwd=tmp_path)
    assert_clean_error(result, 3, "output exists", "m.train.json", "--force")


@pytest.mark.convert
def test_unreadable_images_stop_the_run_or_are_skipped_and_mixed_channels_are_converted(tmp_path):
    """A truncated PNG and a text file named .png: one line naming the first and the count;
    with --skip-bad they are listed in the record and training goes on. The folder mixes
    grayscale, RGB and RGBA PNGs, a BMP and an animated GIF (its first frame is used)."""
    data = small_folder(tmp_path / "data", modes=("L", "RGB", "RGBA"), per_class=8)
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(data / "b" / "extra.bmp")
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (220, 10)]
    frames[0].save(data / "b" / "anim.gif", save_all=True, append_images=frames[1:])
    good = (data / "a" / "0.png").read_bytes()
    (data / "a" / "truncated.png").write_bytes(good[: len(good) // 2])
    (data / "b" / "notes.png").write_text("not an image")
    args = ["train", data, "-o", tmp_path / "m.keras", "--epochs", "1", "--val-split", "0.2", "--test-split", "0.2"]
    stopped = run_cli(*args, cwd=tmp_path)
    message = assert_clean_error(stopped, 3, "2 image(s) cannot be read; the first:", "--skip-bad")
    assert "truncated.png" in message or "notes.png" in message
    assert _outputs(tmp_path) == []
    skipped = run_cli(*args, "--skip-bad", "--json", cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    record = json.loads(skipped.stdout)
    assert sorted(os.path.basename(b["path"]) for b in record["data"]["bad_files"]) == ["notes.png", "truncated.png"]
    assert record["data"]["sample_shape"] == [8, 8, 3]
    assert record["data"]["converted"] == {"L": 6, "P": 1, "RGBA": 4}  # the GIF is a palette image
    notes = " ".join(record["notes"])
    assert "11 of 18 images converted to RGB (6 L, 1 P, 4 RGBA)" in notes and "2 unreadable image(s) skipped" in notes
    assert sum(sum(c) for c in record["data"]["counts"].values()) == 18
    assert _outputs(tmp_path) == ["m.keras", "m.train.html", "m.train.json"]


@pytest.mark.convert
def test_imagenet_weights_offline_say_what_to_do(tmp_path):
    """No network (a proxy that refuses): exit 4, one line naming the file and where Keras keeps it."""
    np.savez(tmp_path / "rgb.npz", x=np.zeros((20, 32, 32, 3), np.float32), y=np.arange(20) % 2)
    env = dict(os.environ, PYTHONPATH=str(REPO), KERAS_HOME=str(tmp_path / "keras"), HTTPS_PROXY="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "edgekit", "train", str(tmp_path / "rgb.npz"), "--weights",
                             "imagenet", "-o", str(tmp_path / "m.keras")], capture_output=True, text=True,
                            env=env, timeout=300)
    assert_clean_error(result, 4, "--weights imagenet: Keras could not download", "mobilenet_v2",
                       str(tmp_path / "keras" / "models"))
    assert "Downloading" not in result.stdout and _outputs(tmp_path) == []


@pytest.mark.convert
def test_no_space_left_for_the_output(tmp_path, digits_npz):
    """A 64 KiB tmpfs as the output folder (in a private mount namespace): said before
    training, exit 3, nothing written there."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    out = tmp_path / "full"
    out.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{out}'"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}")
    script = (f"mount -t tmpfs -o size=64k tmpfs '{out}' && cd '{out}' && "
              f"'{sys.executable}' -m edgekit train '{digits_npz}' -o '{out}/m.keras' --epochs 1; "
              f"rc=$?; echo LISTING; ls -A '{out}'; exit $rc")
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                            timeout=300)
    assert_clean_error(result, 3, "no space left for the trained model m.keras", "free")
    assert result.stdout.split("LISTING", 1)[1].split() == []
    assert "epoch 1/1" not in result.stderr  # said before training
