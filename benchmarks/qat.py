"""Quantization-aware training: accuracy on digits and fine-tuning time. Prints JSON.

    python benchmarks/qat.py [--epochs 3] [--mobilenet-size 32] [--mobilenet-samples 512]

digits: the demo's CNN trained on 65% of scikit-learn's digits (150 of them held out for
early stopping), then int8 (post-training) and qat-int8 (fine-tuned with the default
settings) through `edgekit.convert`, measured on the other 35% (629 real handwritten images).

mobilenetv2: keras.applications.MobileNetV2 with weights=None (nothing downloaded) and a small
input, fine-tuned for time only: its weights are random, so its accuracy means nothing. The
images are the digits resized to the input and repeated over three channels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def digits(folder: Path, epochs: int, float_epochs: int) -> dict:
    import numpy as np

    from edgekit.convert import convert
    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier
    from edgekit.quantize import Recipe
    from edgekit.quantize.qat import QatSettings

    train, test = digits_split(seed=0, test_fraction=0.35)
    order = np.random.default_rng(0).permutation(len(train))
    fit, val = train.take(order[150:]), train.take(order[:150])
    for name, ds in (("fit", fit), ("val", val), ("test", test)):
        np.savez(folder / f"{name}.npz", x=ds.x, y=ds.y)
    model = digits_cnn()
    started = time.perf_counter()
    train_classifier(model, fit.x, fit.y, epochs=float_epochs)
    float_seconds = time.perf_counter() - started
    model.save(folder / "digits_cnn.keras")
    settings = QatSettings(str(folder / "fit.npz"), str(folder / "val.npz"), epochs=epochs)
    started = time.perf_counter()
    result = convert(folder / "digits_cnn.keras", [Recipe("int8"), Recipe("qat-int8")],
                     calib=str(folder / "fit.npz"), eval=str(folder / "test.npz"), output=folder,
                     force=True, qat=settings)
    wall = time.perf_counter() - started
    by_name = {a.recipe.name: a for a in result.artifacts}
    training = by_name["qat-int8"].manifest["training"]
    return {
        "eval_samples": result.evaluation["samples"],
        "train_samples": len(fit),
        "float_accuracy": result.reference_accuracy,
        "ptq_int8_accuracy": by_name["int8"].verification["accuracy"],
        "qat_int8_accuracy": by_name["qat-int8"].verification["accuracy"],
        "qat_minus_ptq_points": round(100 * (by_name["qat-int8"].verification["accuracy"]
                                             - by_name["int8"].verification["accuracy"]), 3),
        "qat_minus_float_points": round(100 * (by_name["qat-int8"].verification["accuracy"]
                                               - result.reference_accuracy), 3),
        "ptq_int8_agreement": by_name["int8"].verification["top1_agreement"],
        "qat_int8_agreement": by_name["qat-int8"].verification["top1_agreement"],
        "ptq_int8_bytes": by_name["int8"].manifest["size"]["bytes"],
        "qat_int8_bytes": by_name["qat-int8"].manifest["size"]["bytes"],
        "float_training_seconds": round(float_seconds, 2),
        "float_training_epochs": float_epochs,
        "qat_settings": training["settings"],
        "qat_epochs_run": training["epochs_run"],
        "qat_fine_tuning_seconds": training["seconds"],
        "convert_wall_seconds": round(wall, 2),
        "ranges_initialized_from_data": training["ranges_initialized_from_data"],
    }


def mobilenet(folder: Path, size: int, samples: int, epochs: int) -> dict:
    import keras
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    from edgekit.convert import convert
    from edgekit.quantize import Recipe
    from edgekit.quantize.qat import QatSettings

    model = keras.applications.MobileNetV2(weights=None, input_shape=(size, size, 3), classes=10)
    model.save(folder / "mobilenetv2.keras")
    bunch = load_digits()
    images = [np.asarray(Image.fromarray((d * 16).astype(np.uint8)).resize((size, size), Image.BILINEAR))
              for d in bunch.images[:samples]]
    x = (np.repeat(np.stack(images)[..., None], 3, axis=-1).astype(np.float32) / 127.5) - 1.0
    np.savez(folder / "mnv2_train.npz", x=x, y=bunch.target[:samples].astype(np.int64))
    settings = QatSettings(str(folder / "mnv2_train.npz"), epochs=epochs)
    started = time.perf_counter()
    result = convert(folder / "mobilenetv2.keras", [Recipe("qat-int8")], calib=None,
                     eval=str(folder / "mnv2_train.npz"), output=folder, force=True, qat=settings)
    wall = time.perf_counter() - started
    (artifact,) = result.artifacts
    training = artifact.manifest["training"]
    return {
        "input": [size, size, 3],
        "parameters": int(model.count_params()),
        "train_samples": samples,
        "qat_settings": training["settings"],
        "qat_epochs_run": training["epochs_run"],
        "qat_fine_tuning_seconds": training["seconds"],
        "seconds_per_epoch": round(training["seconds"] / max(1, training["epochs_run"]), 2),
        "convert_wall_seconds": round(wall, 2),
        "qat_int8_bytes": artifact.manifest["size"]["bytes"],
        "bridge_max_abs_error": training["bridge_max_abs_error"],
        "ranges_initialized_from_data": training["ranges_initialized_from_data"],
        "note": "weights=None (random): time only, accuracy not meaningful",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="QAT fine-tuning epochs (digits)")
    parser.add_argument("--float-epochs", type=int, default=25, help="float training epochs (digits)")
    parser.add_argument("--mobilenet-size", type=int, default=32)
    parser.add_argument("--mobilenet-samples", type=int, default=512)
    parser.add_argument("--mobilenet-epochs", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgekit._native_log import capture_native_stderr

    with tempfile.TemporaryDirectory(prefix="edgekit-bench-qat-") as tmp, capture_native_stderr():
        folder = Path(tmp)
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "processor": platform.processor() or platform.machine()},
            "digits": digits(folder, args.epochs, args.float_epochs),
            "mobilenetv2": mobilenet(folder, args.mobilenet_size, args.mobilenet_samples,
                                     args.mobilenet_epochs),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
