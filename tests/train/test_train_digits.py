"""`edgekit train` on real handwriting: scikit-learn's digits as a class folder of PNGs and as an
.npz. Accuracy on the test split, a split that never leaks, the record, the report, the int8
export measured on the test split, and raw test PNGs classified on the device runtime."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.convert


def test_png_folder_trains_above_the_bound_and_the_split_never_leaks(png_run, digits_pngs):
    result = png_run["result"]
    assert result.test.accuracy >= 0.93, result.test.accuracy
    assert result.architecture.name == "cnn" and result.architecture.input_shape == (1, 8, 8, 1)
    split = result.split
    train, val, test = set(split.train), set(split.val), set(split.test)
    assert not train & test and not val & test and not train & val
    every = {p.relative_to(digits_pngs).as_posix() for p in digits_pngs.rglob("*.png")}
    assert train | val | test == every and len(every) == 1797
    counts = result.data.counts
    assert all(c >= 17 for c in counts["test"]) and sum(counts["test"]) == len(test) == result.test.samples
    assert result.preprocessing.color == "L" and result.preprocessing.scale == pytest.approx(1 / 255)
    assert result.labels == tuple(str(i) for i in range(10))
    confusion = np.asarray(result.test.confusion)
    assert confusion.sum() == len(test) and np.trace(confusion) / len(test) == pytest.approx(result.test.accuracy)
    assert [c.support for c in result.test.per_class] == list(counts["test"])
    # progress: one line per epoch with loss, accuracy, validation, images/s
    epoch_lines = [s for s in png_run["steps"] if s.startswith("epoch ")]
    assert len(epoch_lines) == len(result.history) and "val_accuracy" in epoch_lines[0]
    assert "images/s" in epoch_lines[0] and "ETA" in epoch_lines[0]


def test_record_and_report_are_written_beside_the_model(png_run):
    result, folder = png_run["result"], png_run["folder"]
    record = json.loads((folder / "digits.train.json").read_text())
    assert record["schema"] == "edgekit.train/1"
    assert record["model"]["sha256"] == result.model.sha256 and record["split"]["test"] == list(result.split.test)
    assert record["test"]["accuracy"] == result.test.accuracy and len(record["history"]) == len(result.history)
    assert record["export"]["artifacts"][0]["recipe"] == "int8"
    # files beside the record are named by file name (the folder may move); the result keeps paths
    assert record["model"]["path"] == "digits.keras" and record["report_path"] == "digits.train.html"
    assert record["export"]["artifacts"][0]["path"] == "digits_int8.tflite"
    assert result.model.path == str(folder / "digits.keras")
    page = (folder / "digits.train.html").read_text()
    assert "<table class=\"confusion\">" in page and page.count("class=\"diag\"") == 10
    assert "<svg" in page and "http" not in page.replace("http-equiv", "")


def test_int8_export_is_calibrated_on_train_and_measured_on_the_test_split(png_run, digits_pngs):
    from edgekit.runtime import load

    result = png_run["result"]
    (artifact,) = result.export.artifacts
    manifest = json.loads(artifact.manifest_path.read_text())
    assert manifest["verification"]["samples"] == len(result.split.test) == result.test.samples
    # the splits were written to a temporary folder: the manifest names them, not that folder
    assert manifest["verification"]["data"]["source"] == f"the test split of {digits_pngs} (seed 0)"
    assert manifest["calibration"]["source"] == f"the training split of {digits_pngs} (seed 0)"
    assert "edgekit-train-export-" not in artifact.manifest_path.read_text()
    assert abs(manifest["verification"]["accuracy"] - result.test.accuracy) <= 0.02
    assert manifest["labels"] == list(result.labels)
    assert manifest["preprocessing"]["color"] == "L"
    # the device runtime classifies raw PNGs of the test split as the manifest says
    model = load(artifact.path)
    names = result.split.test
    hits = sum(model.classify(str(digits_pngs / name))[0][0] == name.split("/")[0] for name in names)
    assert hits / len(names) == pytest.approx(manifest["verification"]["accuracy"], abs=1.5 / len(names))


def test_convert_later_reads_the_training_record(png_run, digits_pngs, digits_npz, tmp_path):
    """`edgekit convert digits.keras` after training: labels and preprocessing come from the
    record (an image folder calibrates with the training scaling); a record written for another
    file is not used, and the result says so."""
    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    shutil.copy(png_run["model"], tmp_path / "m.keras")
    shutil.copy(png_run["folder"] / "digits.train.json", tmp_path / "m.train.json")
    calib = tmp_path / "calib"
    for name in png_run["result"].split.train[:120]:
        (calib / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(digits_pngs / name, calib / name)
    result = convert(tmp_path / "m.keras", [Recipe("float32")], calib=str(digits_npz), output=tmp_path)
    manifest = result.artifacts[0].manifest
    assert manifest.labels == png_run["result"].labels
    assert manifest.preprocessing == png_run["result"].preprocessing  # from the record: the data was arrays
    result = convert(tmp_path / "m.keras", [Recipe("int8")], calib=str(calib), output=tmp_path, force=True)
    assert result.artifacts[0].manifest.preprocessing.scale == pytest.approx(1 / 255)
    # another model under the same name: the record's SHA-256 does not match
    (tmp_path / "other").mkdir()
    shutil.copy(png_run["folder"] / "digits.train.json", tmp_path / "other" / "m.train.json")
    from edgekit.models.reference import digits_cnn

    digits_cnn().save(tmp_path / "other" / "m.keras")
    result = convert(tmp_path / "other" / "m.keras", [Recipe("float32")], calib=str(digits_npz))
    assert result.artifacts[0].manifest.labels is None or result.artifacts[0].manifest.labels == tuple(
        str(i) for i in range(10))
    assert any("SHA-256 differs" in note for note in result.notes)


def test_npz_trains_above_the_bound(digits_npz, tmp_path):
    from edgekit.train import train

    result = train(digits_npz, output=tmp_path / "npz.keras", epochs=10, test_split=0.2)
    assert result.test.accuracy >= 0.93, result.test.accuracy
    assert result.data.kind == "arrays" and result.preprocessing is None and result.settings.augment == ()
    assert not set(result.split.train) & set(result.split.test)
    assert all(name.isdigit() for name in result.split.test)  # indices into x
    assert result.test.samples == len(result.split.test) == round(0.2 * 1797)


def test_the_same_seed_gives_the_same_run(digits_npz, tmp_path):
    """Split, initial weights, shuffling and augmentation all follow `seed`."""
    from edgekit.train import train

    runs = [train(digits_npz, output=tmp_path / f"r{i}.keras", epochs=2, augment="rotation,zoom", seed=7)
            for i in range(2)]
    assert [r.loss for r in runs[0].history] == [r.loss for r in runs[1].history]
    assert runs[0].split == runs[1].split and runs[0].test == runs[1].test
    other = train(digits_npz, output=tmp_path / "r2.keras", epochs=1, augment="none", seed=8)
    assert other.split.test != runs[0].split.test


def test_separate_test_data_under_the_mirrored_strategy(digits_npz, tmp_path):
    """`test_data` replaces the test split (its samples are the test metrics); `strategy`
    mirrored runs the same loop under tf.distribute.MirroredStrategy."""
    from edgekit.train import train

    data = np.load(digits_npz)
    order = np.random.default_rng(0).permutation(len(data["y"]))
    for name, part in (("fit", order[:1400]), ("held", order[1400:])):
        np.savez(tmp_path / f"{name}.npz", x=data["x"][part], y=data["y"][part], class_names=data["class_names"])
    result = train(tmp_path / "fit.npz", output=tmp_path / "m.keras", test_data=tmp_path / "held.npz", epochs=6,
                   strategy="mirrored")
    assert result.strategy["name"] == "MirroredStrategy" and result.strategy["replicas"] == 1
    assert result.split.test_source == str(tmp_path / "held.npz") and result.split.test_split == 0
    assert result.test.samples == 397 and result.test.accuracy >= 0.9
    assert len(result.split.train) + len(result.split.val) == 1400 and len(result.split.test) == 397


@pytest.mark.slow
def test_qat_export_fine_tunes_on_the_training_split(digits_npz, tmp_path):
    """`qat`: the trained model (its base nested inside) through the Keras 2 bridge and tfmot,
    fine-tuned on the training split and verified on the test split like every artifact."""
    from edgekit.train import train

    result = train(digits_npz, output=tmp_path / "q.keras", epochs=8, qat=True)
    (artifact,) = result.export.artifacts
    assert artifact.recipe.name == "qat-int8" and artifact.manifest.inputs[0].dtype == "int8"
    training = artifact.manifest.training
    assert training["train_data"].source == f"the training split of {digits_npz} (seed 0)"
    assert training["train_data"].n == 1439
    assert artifact.verification.samples == result.test.samples == 179
    assert abs(artifact.verification.accuracy - result.test.accuracy) <= 0.02
