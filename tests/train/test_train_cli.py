"""`edgekit train` as users run it: --json with its schema, Ctrl-C that keeps the best model so
far (exit 130), and two local workers under `--strategy multiworker`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from edgekit_testing import REPO, default_sigint, free_ports, wait_for_stderr

pytestmark = pytest.mark.convert


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=str(REPO), COLUMNS="200", **extra)
    return env


def test_ctrl_c_stops_after_the_step_and_keeps_the_best_model(digits_pngs, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "edgekit", "train", str(digits_pngs), "-o", str(tmp_path / "m.keras"), "--epochs",
         "500", "--patience", "500", "--augment", "none"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        seen = wait_for_stderr(process, "epoch 2/500", limit=300)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    err = "".join(seen) + err
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Ctrl-C: stopped after step" in err
    assert "training stopped by Ctrl-C after" in err and "the best model so far is in" in err
    record = json.loads((tmp_path / "m.train.json").read_text())
    assert record["interrupted"] and 2 <= len(record["history"]) < 500
    best = record["best"]
    losses = [r["val_loss"] for r in record["history"]]
    assert best["val_loss"] == min(losses) and record["test"]["samples"] == 179
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "m.train.html", "m.train.json"]


@pytest.mark.slow
def test_two_local_workers_train_together_and_only_the_chief_writes(digits_npz, tmp_path):
    workers = [f"localhost:{port}" for port in free_ports(2)]
    procs, logs = [], []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        out, err = (open(tmp_path / f"worker{index}.{kind}", "w+") for kind in ("out", "err"))
        logs.append((out, err))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "edgekit", "train", str(digits_npz), "--strategy", "multiworker", "--epochs", "4",
             "-o", str(tmp_path / "m.keras"), "--json"],
            env=_env(TF_CONFIG=json.dumps(config)), stdout=out, stderr=err, text=True))
    try:
        for p in procs:
            p.wait(timeout=480)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    for p, (out, err) in zip(procs, logs):
        out.seek(0), err.seek(0)
        text, log = out.read(), err.read()
        out.close(), err.close()
        assert p.returncode == 0, log[-3000:]
        results.append(json.loads(text))
    chief, other = results
    assert chief["strategy"]["name"] == "MultiWorkerMirroredStrategy" and chief["strategy"]["workers"] == 2
    assert chief["strategy"]["replicas"] == 2 and chief["strategy"]["is_chief"]
    assert other["model"] is None and not other["strategy"]["is_chief"]
    assert any("worker:1 took part in training" in note for note in other["notes"])
    # both took every step together: the same history, to float rounding
    assert [round(r["loss"], 4) for r in chief["history"]] == [round(r["loss"], 4) for r in other["history"]]
    assert chief["test"]["accuracy"] >= 0.85 and chief["history"][-1]["loss"] < chief["history"][0]["loss"]
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("worker"))
    assert files == ["m.keras", "m.train.html", "m.train.json"]


def test_edgetpu_prints_the_check_and_keeps_the_model_without_a_compiler(digits_npz, tmp_path):
    """--edgetpu alone exports int8 (int8 I/O) and prints the pre-flight check; with no
    edgetpu_compiler on this machine it exits 2 saying how to install it, and the trained
    model and the int8 artifact stay."""
    env = _env(PATH="/usr/bin:/bin")
    env.pop("EDGEKIT_EDGETPU_COMPILER", None)
    result = subprocess.run([sys.executable, "-m", "edgekit", "train", str(digits_npz), "-o", str(tmp_path / "m.keras"),
                             "--epochs", "2", "--edgetpu"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    assert "edgetpu_compiler" in result.stderr and "Edge TPU" in result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["m.keras", "m.train.html", "m.train.json", "m_int8.json", "m_int8.tflite"], names
    assert json.loads((tmp_path / "m_int8.json").read_text())["inputs"][0]["dtype"] == "int8"
