"""Both quantization engines side by side, per recipe, on the test models. Prints JSON.

    python benchmarks/quantizers.py [--epochs 10] [--runs 200] [--out quantizers.json]

For each Keras model (the digits CNN of `edgekit demo`, trained here on scikit-learn's digits,
and the tests' functional CNN with a residual add and batch norm, untrained), each recipe is
made twice from the same model and the same 200 calibration digits: by the TFLite converter
(from the SavedModel, as `edgekit convert` does for Keras) and by LiteRT Quantizer (from the
converter's float32 .tflite). Both are measured the same way against the Keras model's own
outputs on 450 held-out digits: top-1 agreement, accuracy, SNR, max abs error, size, and p50
latency (one thread, batch 1, edgekit.runtime). `decision` keeps the converter for a recipe
unless LiteRT Quantizer is at least as accurate (agreement and SNR) on every model; that is
what `edgekit.convert.engines.KERAS_ENGINES` records.

The float .tflite and PyTorch rows have one engine only (LiteRT Quantizer): they show what
those inputs get, on the tests' float .tflite digits classifier.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ["dynamic", "float16", "int8", "int16x8"]
QUANTIZER_ONLY = ["weight-only-int8", "weight-only-int4", "blockwise-int4"]


def measure(content: bytes, x, reference, y, runs: int) -> dict:
    """Fidelity against the float reference, accuracy, size and p50 of one .tflite."""
    from edgekit.metrics import compare_outputs
    from edgekit.runtime import Model
    from edgekit.runtime.timing import quick_latency

    model = Model.from_bytes(content, threads=1)
    c = compare_outputs(reference, model.predict(x), y)
    p50 = quick_latency(model, x[:1], runs=runs, warmup=max(10, runs // 10)).p50_ms
    return {"top1_agreement": round(c.top1_agreement, 4), "accuracy": round(c.accuracy, 4),
            "snr_db": round(c.snr_db, 2), "max_abs_error": round(c.max_abs_error, 5),
            "size_bytes": len(content), "p50_ms": round(p50, 4)}


def keras_models(epochs: int, train) -> dict:
    from keras_test_models import functional_model
    from edgekit.models.reference import digits_cnn, train_classifier

    cnn = digits_cnn()
    train_classifier(cnn, train.x, train.y, epochs=epochs)
    return {"digits CNN (trained)": cnn, "tests' functional CNN (untrained)": functional_model()}


def both_engines(path: Path, recipes, data: dict, folder: Path, runs: int) -> dict:
    """{recipe: {engine: measurement}} for one Keras model file."""
    from edgekit.convert import convert, engines
    from edgekit.errors import EdgekitError
    from edgekit.quantize import Recipe

    started = time.perf_counter()
    result = convert(path, [Recipe("float32"), *(Recipe(r) for r in recipes if r in RECIPES)], calib=data["calib"],
                     eval=data["eval"], output=folder, force=True)
    by_name = {a.recipe.name: a for a in result.artifacts}
    rows = {"float32": {"tflite-converter": measure(by_name["float32"].path.read_bytes(), *data["xy"], runs)},
            "_convert_s": round(time.perf_counter() - started, 2)}
    float_model = engines.FloatModel.of(by_name["float32"].path.read_bytes())
    for name in recipes:
        recipe, row = Recipe(name), {}
        if name in by_name:
            row["tflite-converter"] = measure(by_name[name].path.read_bytes(), *data["xy"], runs)
            row["tflite-converter"]["conversion_s"] = by_name[name].manifest.conversion_s
        started = time.perf_counter()
        try:
            ranges = engines.calibrate(float_model, recipe, data["calib_x"], 1)
            content = engines.quantize(float_model, recipe, ranges).content
        except EdgekitError as exc:  # e.g. a recipe that changes nothing on this model
            row["litert-quantizer"] = {"error": exc.message}
        else:
            seconds = round(time.perf_counter() - started, 3)
            row["litert-quantizer"] = dict(measure(content, *data["xy"], runs), conversion_s=seconds)
        rows[name] = row
    return rows


def decide(results: dict) -> dict:
    """Per recipe: litert-quantizer only if at least as accurate on every model, else the converter."""
    decision = {}
    for recipe in RECIPES:
        rows = [model[recipe] for model in results.values()]
        as_good = all("error" not in r["litert-quantizer"]
                      and r["litert-quantizer"]["top1_agreement"] >= r["tflite-converter"]["top1_agreement"]
                      and r["litert-quantizer"]["snr_db"] >= r["tflite-converter"]["snr_db"] for r in rows)
        decision[recipe] = {"engine": "litert-quantizer" if as_good else "tflite-converter",
                            "litert_quantizer_as_accurate_on_every_model": as_good}
    for recipe in QUANTIZER_ONLY:
        decision[recipe] = {"engine": "litert-quantizer", "litert_quantizer_as_accurate_on_every_model": None}
    return decision


def float_tflite_rows(train, data: dict, runs: int) -> dict:
    """The tests' float .tflite digits classifier through every LiteRT Quantizer recipe."""
    from tflite_models import digits_cnn, train_digits_weights
    from edgekit.convert import engines
    from edgekit.quantize import Recipe
    from edgekit.runtime import Model

    content = digits_cnn(train_digits_weights(train.x, train.y))
    x, _, y = data["xy"]
    reference = Model.from_bytes(content).predict(x)
    float_model, rows = engines.FloatModel.of(content), {"float32": measure(content, x, reference, y, runs)}
    for name in RECIPES + QUANTIZER_ONLY:
        recipe = Recipe(name)
        ranges = engines.calibrate(float_model, recipe, data["calib_x"], 1)
        rows[name] = measure(engines.quantize(float_model, recipe, ranges).content, x, reference, y, runs)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of the digits CNN")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per model for p50")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "convert"))  # the tests' models
    import numpy as np
    from edgekit.data import digits_split

    train, test = digits_split(seed=0, test_fraction=0.25)
    with tempfile.TemporaryDirectory(prefix="edgekit-quantizers-") as tmp:
        folder = Path(tmp)
        np.savez(folder / "calib.npz", x=train.x[:200], y=train.y[:200])
        np.savez(folder / "eval.npz", x=test.x, y=test.y)
        data = {"calib": str(folder / "calib.npz"), "eval": str(folder / "eval.npz"), "calib_x": train.x[:200]}
        results = {}
        for name, model in keras_models(args.epochs, train).items():
            path = folder / f"{len(results)}.keras"
            model.save(path)
            data["xy"] = (test.x, np.asarray(model(test.x, training=False)), test.y)
            results[name] = both_engines(path, RECIPES + QUANTIZER_ONLY, data, folder, args.runs)
        out = {"schema": "edgekit.bench-quantizers/1", "data": "sklearn digits: 200 calibration, 450 evaluation",
               "keras": results, "decision": decide(results),
               "float_tflite (tests' digits classifier, LiteRT Quantizer only)": float_tflite_rows(train, data, args.runs)}
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
