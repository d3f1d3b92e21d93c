"""QAT on real handwritten digits: quality against float and post-training int8, one process
and two tf.distribute workers (MultiWorkerMirroredStrategy on localhost, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgekit_testing import REPO, free_ports
from edgekit.convert import convert
from edgekit.quantize import Recipe
from edgekit.quantize.qat import QatSettings
from edgekit.runtime import describe, load

pytestmark = [pytest.mark.slow, pytest.mark.convert]


def test_qat_int8_is_within_a_point_of_float_and_no_worse_than_ptq(tmp_path, digits_cnn_file, digits_files):
    steps = []
    settings = QatSettings(str(digits_files["train"]), str(digits_files["val"]), epochs=5)
    result = convert(digits_cnn_file, [Recipe("int8"), Recipe("qat-int8")], calib=str(digits_files["train"]),
                     eval=str(digits_files["test"]), output=tmp_path, qat=settings, on_step=steps.append)
    by_name = {a.recipe.name: a for a in result.artifacts}
    float_acc = result.reference_accuracy
    ptq = by_name["int8"].verification.accuracy
    qat = by_name["qat-int8"].verification.accuracy
    assert result.evaluation.samples == 629 and float_acc > 0.95
    assert qat >= ptq - 0.002, (qat, ptq)
    assert abs(qat - float_acc) <= 0.01, (qat, float_acc)
    # the artifact is a fully integer model with int8 I/O, verified like any other recipe
    path = by_name["qat-int8"].path
    assert describe(path.read_bytes()).fully_integer
    assert load(path).inputs[0].dtype == "int8"
    manifest = json.loads(by_name["qat-int8"].manifest_path.read_text())
    training = manifest["training"]
    assert 1 <= training["epochs_run"] <= 5 and len(training["history"]["val_loss"]) == training["epochs_run"]
    assert training["settings"]["learning_rate"] == 3e-5 and training["strategy"]["replicas"] == 1
    assert training["bridge_max_abs_error"] <= 1e-5
    assert training["ranges_initialized_from_data"]["initialized"] >= 3
    assert manifest["selective"] is None and by_name["int8"].manifest.training is None
    assert any(s.startswith("QAT epoch 1/5: loss") and "val_accuracy" in s for s in steps)


def test_fresh_qat_model_starts_from_the_data_ranges(digits_cnn_file, digits_files):
    """tfmot starts the input range at [0, 0] and activations at [-6, 6]: such a model
    predicts one class. Initialized from the data, it agrees with the float model."""
    import keras
    import numpy as np

    from edgekit.quantize import bridge
    from edgekit.quantize.qat import init_ranges, quantize_aware

    plain = bridge.to_tf_keras(keras.models.load_model(digits_cnn_file))
    qat = quantize_aware(plain)
    test = digits_files["data"]["test"]
    reference = np.asarray(plain(test.x)).argmax(1)
    before = float(np.mean(np.asarray(qat(test.x)).argmax(1) == reference))
    counts = init_ranges(qat, plain, digits_files["data"]["train"].x[:512])
    after = float(np.mean(np.asarray(qat(test.x)).argmax(1) == reference))
    assert counts == {"initialized": 5, "total": 5}
    assert before < 0.5 and after >= 0.99, (before, after)


def _convert_cmd(model, files, out, strategy):
    return [sys.executable, "-m", "edgekit", "convert", str(model), "--qat", "--train-data",
            str(files["train"]), "--val-data", str(files["val"]), "--eval", str(files["test"]),
            "--epochs", "3", "--learning-rate", "0.001", "--strategy", strategy, "-o", str(out), "--json"]


def test_two_local_workers_match_a_single_worker(tmp_path, digits_cnn_file, digits_files):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=str(REPO), COLUMNS="200")
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    workers = [f"localhost:{port}" for port in free_ports(2)]
    procs, logs = [], []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        # Files, not pipes: a worker blocked on a full pipe would stall the other's collectives.
        out, err = (open(tmp_path / f"worker{index}.{kind}", "w+") for kind in ("out", "err"))
        logs.append((out, err))
        procs.append(subprocess.Popen(
            _convert_cmd(digits_cnn_file, digits_files, multi, "multiworker"),
            env=dict(env, TF_CONFIG=json.dumps(config)), stdout=out, stderr=err, text=True))
    try:
        for p in procs:
            p.wait(timeout=480)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    outputs = []
    for out, err in logs:
        out.seek(0), err.seek(0)
        outputs.append((out.read(), err.read()))
        out.close(), err.close()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    one = subprocess.run(_convert_cmd(digits_cnn_file, digits_files, single, "default"), env=env,
                         capture_output=True, text=True, timeout=480)
    assert one.returncode == 0, one.stderr[-3000:]

    chief, other = (json.loads(out) for out, _ in outputs)
    (multi_artifact,) = chief["artifacts"]
    assert other["artifacts"] == [] and "worker:1" in " ".join(other["notes"])
    assert sorted(p.name for p in multi.iterdir()) == ["digits_cnn_qat-int8.json", "digits_cnn_qat-int8.tflite"]
    (single_artifact,) = json.loads(one.stdout)["artifacts"]
    strategy = json.loads((multi / "digits_cnn_qat-int8.json").read_text())["training"]["strategy"]
    assert strategy["name"] == "MultiWorkerMirroredStrategy" and strategy["workers"] == 2
    assert strategy["replicas"] == 2 and strategy["is_chief"]
    histories = [json.loads(d.joinpath("digits_cnn_qat-int8.json").read_text())["training"]["history"]
                 for d in (multi, single)]
    assert all(h["loss"][-1] < h["loss"][0] for h in histories)  # both really trained
    # same quality: within one point of each other and of the float model
    assert abs(multi_artifact["accuracy"] - single_artifact["accuracy"]) <= 0.01
    assert multi_artifact["accuracy_delta"] >= -0.01 and single_artifact["accuracy_delta"] >= -0.01
    assert "QAT epoch 3/3" in outputs[0][1] and "QAT epoch 3/3" in outputs[1][1]
