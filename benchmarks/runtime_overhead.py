"""Overhead of `edgekit.runtime` `Model.predict` over a raw set_tensor/invoke/get_tensor loop.

    python benchmarks/runtime_overhead.py [--rounds 15] [--skip-mobilenet]

Both loops run in this process on the same interpreter and the same input, interleaved in
rounds (raw, predict, raw, predict, ...) so that drift affects both; each round's mean per-call
time is kept and the JSON reports the median over rounds and the ratio of medians. Models:
MobileNetV2 (weights=None, 224x224x3; float32 and int8, built and converted with edgekit's
converter in a temp folder, calibrated on real digits images), the demo's digits CNN (float32
and int8), and the checked-in tiny fixtures. Targets (issue 3): <= 1.05x MobileNetV2-sized,
<= 1.25x tiny. Both loops use one interpreter thread (`threads=1`, recorded in the JSON), not
the runtime's default of every physical core. `predict` includes the lock that makes one
Model safe to share between threads; `lock_ns` is what taking an uncontended lock costs here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def raw_loop(interpreter, in_index, out_index, x, calls):
    set_tensor, invoke, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor
    start = time.perf_counter_ns()
    for _ in range(calls):
        set_tensor(in_index, x)
        invoke()
        get_tensor(out_index)
    return (time.perf_counter_ns() - start) / calls


def predict_loop(model, x, calls, raw=False):
    predict = model.predict
    start = time.perf_counter_ns()
    for _ in range(calls):
        predict(x, raw=raw)
    return (time.perf_counter_ns() - start) / calls


def lock_cost_ns(calls: int = 200_000) -> float:
    """The cost of `with lock:` around a call, uncontended (what Model.predict adds for safety)."""
    import threading

    lock = threading.Lock()
    start = time.perf_counter_ns()
    for _ in range(calls):
        with lock:
            pass
    empty = time.perf_counter_ns()
    for _ in range(calls):
        pass
    return ((empty - start) - (time.perf_counter_ns() - empty)) / calls


def measure(path: Path, rounds: int) -> dict:
    from edgekit.runtime import load

    model = load(path, threads=1)
    spec = model.inputs[0]
    interpreter = model.interpreter
    rng = np.random.default_rng(0)
    native = rng.random(spec.shape, dtype=np.float32)
    if spec.quantized:  # the raw loop gets the input already in the tensor's dtype
        from edgekit.runtime import quantize

        native = quantize(native, spec.scale, spec.zero_point, spec.dtype)
    float_in = rng.random(spec.shape, dtype=np.float32)
    one = raw_loop(interpreter, spec.index, model.outputs[0].index, native, 3)
    calls = max(5, int(0.2e9 / max(one, 1)))  # ~0.2 s per block
    raw, pred, pred_raw, pred_float = [], [], [], []
    for _ in range(rounds):
        raw.append(raw_loop(interpreter, spec.index, model.outputs[0].index, native, calls))
        pred.append(predict_loop(model, native, calls))
        pred_raw.append(predict_loop(model, native, calls, raw=True))
        pred_float.append(predict_loop(model, float_in, calls))
    raw_ns, pred_ns, pred_raw_ns, float_ns = (statistics.median(v) for v in (raw, pred, pred_raw, pred_float))
    return {
        "model": path.name,
        "input": spec.describe(),
        "calls_per_round": calls,
        "rounds": rounds,
        "raw_us": round(raw_ns / 1e3, 3),
        "predict_us": round(pred_ns / 1e3, 3),
        "ratio": round(pred_ns / raw_ns, 4),
        "predict_raw_us": round(pred_raw_ns / 1e3, 3),
        "ratio_raw": round(pred_raw_ns / raw_ns, 4),
        "predict_from_float_us": round(float_ns / 1e3, 3),
        "ratio_from_float": round(float_ns / raw_ns, 4),
    }


def build_models(folder: Path, mobilenet: bool) -> list[Path]:
    from edgekit.convert import convert
    from edgekit.data import digits_split
    from edgekit.models.reference import digits_cnn, train_classifier
    from edgekit.quantize import Recipe

    train, _ = digits_split()
    model = digits_cnn()
    train_classifier(model, train.x, train.y, epochs=3)
    model.save(folder / "digits_cnn.keras")
    np.save(folder / "digits.npy", train.x[:300])
    convert(folder / "digits_cnn.keras", [Recipe("float32"), Recipe("int8")], calib=str(folder / "digits.npy"))
    paths = [folder / "digits_cnn_float32.tflite", folder / "digits_cnn_int8.tflite"]
    if mobilenet:
        import keras
        from PIL import Image

        keras.applications.MobileNetV2(weights=None).save(folder / "mobilenetv2.keras")
        images = [np.asarray(Image.fromarray((d[..., 0] * 255).astype(np.uint8)).resize((224, 224)))
                  for d in train.x[:120]]
        x = np.repeat(np.stack(images)[..., None], 3, -1).astype(np.float32) / 127.5 - 1
        np.save(folder / "mnv2.npy", x)
        convert(folder / "mobilenetv2.keras", [Recipe("float32"), Recipe("int8")],
                calib=str(folder / "mnv2.npy"), calib_samples=100)
        paths = [folder / "mobilenetv2_float32.tflite", folder / "mobilenetv2_int8.tflite"] + paths
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-mobilenet", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="edgekit-overhead-") as tmp:
        paths = build_models(Path(tmp), not args.skip_mobilenet)
        paths += [REPO / "tests/fixtures/float32.tflite", REPO / "tests/fixtures/int8.tflite"]
        rows = [measure(p, args.rounds) for p in paths]
    print(json.dumps({
        "benchmark": "runtime_overhead",
        "threads": 1,
        "lock_ns": round(lock_cost_ns(), 1),
        "cpu_count": os.cpu_count(),
        "targets": {"mobilenet_sized": 1.05, "tiny": 1.25},
        "note": "ratio: predict (outputs dequantized) on input already in the tensor dtype vs the "
                "raw loop; ratio_raw: the same with raw=True, like for like with the raw loop "
                "(which never dequantizes); "
                "ratio_from_float: predict on float input (quantized by edgekit for int8 models; "
                "the raw loop does no quantization, so that ratio includes real work)",
        "results": rows,
    }, indent=2))


if __name__ == "__main__":
    main()
