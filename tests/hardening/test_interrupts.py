"""Outputs are never half-written: SIGTERM and SIGKILL in the middle of a convert leave no
file at a final path; SIGTERM also cleans up the temp files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from edgekit_testing import REPO, default_sigint, wait_for_stderr

pytestmark = pytest.mark.slow


def _start_convert(folder, *extra, tmpdir=None):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x)))
    model.save(folder / "m.keras")
    import numpy as np

    np.save(folder / "calib.npy", np.random.default_rng(0).random((400, 32, 32, 3), dtype=np.float32))
    env = dict(os.environ, PYTHONPATH=str(REPO), **({"TMPDIR": str(tmpdir)} if tmpdir else {}))
    process = subprocess.Popen(
        [sys.executable, "-m", "edgekit", "convert", "m.keras", "--all", "--calib", "calib.npy", "--calib-samples",
         "300", *extra], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,  # whatever this process inherited
    )
    return process


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_killed_convert_leaves_no_final_files(tmp_path, sig, code):
    process = _start_convert(tmp_path)
    wait_for_stderr(process, "converting: int8")
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "Traceback" not in err
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("m.keras", "calib.npy"))
    final = [n for n in leftovers if n.endswith((".tflite", ".json"))]
    assert final == [], leftovers
    if sig == signal.SIGTERM:
        assert leftovers == [], "SIGTERM must also remove temp files"
        assert "terminated" in err


def test_sigkill_while_writing_leaves_only_complete_files(tmp_path):
    """Killed in the middle of writing artifacts: what is at a final path is complete."""
    import json

    from edgekit.runtime import describe

    process = _start_convert(tmp_path)
    wait_for_stderr(process, "writing")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    for path in tmp_path.iterdir():
        if path.suffix == ".tflite":
            assert describe(path.read_bytes()).ops, path
        elif path.suffix == ".json":
            assert json.loads(path.read_text())["schema"] == "edgekit.manifest/2"


@pytest.mark.parametrize("sig,code,word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_a_signal_after_some_artifacts_says_which_were_written(tmp_path, sig, code, word):
    """All recipes are converted and verified before the first file is written; a signal
    during the writes keeps the artifacts already complete and the message names them."""
    process = _start_convert(tmp_path)
    seen = wait_for_stderr(process, "writing m_int16x8.tflite")
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    err = "".join(seen) + err
    assert process.returncode == code, err
    assert "Traceback" not in err and word in err
    final = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".tflite", ".json"))
    written = [n for n in final if n.endswith(".tflite")]
    message = next(line for line in err.splitlines() if word in line)
    if written:
        assert all(name in message for name in final), (message, final)
    else:
        assert "nothing was written" in message
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp or lock files left"


def test_the_next_run_cleans_what_a_sigkill_left(tmp_path):
    """SIGKILL cannot be cleaned up after: lock files, hidden temp files beside the outputs and
    the SavedModel folder in $TMPDIR stay. The next run over the same outputs removes them."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    process = _start_convert(work, tmpdir=tmpdir)
    wait_for_stderr(process, "converting: int8")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert [p.name for p in tmpdir.iterdir() if p.name.startswith("edgekit-savedmodel-")], "nothing to clean"
    (work / ".m_int8.tflite.abcd.edgekit-tmp").write_bytes(b"half a model")  # as if killed mid-write
    again = _start_convert(work, "--force", tmpdir=tmpdir)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert not [p.name for p in work.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in tmpdir.iterdir() if p.name.startswith("edgekit-")]
