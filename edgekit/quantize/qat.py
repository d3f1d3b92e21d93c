"""Quantization-aware training (QAT) of Keras 3 models, through the Keras 2 bridge and tfmot.

    strategy = start_strategy("default")          # before TensorFlow runs anything
    train, val = load_training_data(settings, input_shape, classes)
    result = fine_tune(keras_model, settings, strategy, train, val)
    export_saved_model(result.model, input_specs, "qat_saved_model/")

The Keras 3 model is rebuilt in tf_keras (`bridge.py`), checked to compute the same outputs,
wrapped with tfmot's fake quantization (its ranges started from the training data:
`init_ranges`), fine-tuned under a `tf.distribute` strategy and exported as a SavedModel that
the TFLite converter turns into the `qat-int8` recipe. Only a fine-tuned model is exported.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import _tf
from ..data import Dataset, load_data
from ..errors import BadInputError, DeviceError, UsageError, one_line
from . import bridge

STRATEGIES = ("default", "mirrored", "multiworker")
# tf.distribute class names -> the names users know them by.
_STRATEGY_NAMES = {"_DefaultDistributionStrategy": "default (one device)",
                   "CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy"}
BRIDGE_CHECK_SAMPLES = 64


@dataclass(frozen=True)
class QatSettings:
    """What to fine-tune on and how. Data specs take the forms `load_data` reads."""

    train_data: str
    val_data: str | None = None
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 3e-5
    strategy: str = "default"
    patience: int = 2
    seed: int = 0
    train_name: str | None = None  # what manifests call `train_data` (default: the spec itself)
    val_name: str | None = None  # what manifests call `val_data`

    def __post_init__(self):
        for name in ("train_data", "val_data"):  # paths are kept as text (the manifest is JSON)
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if not self.train_data:
            raise UsageError(
                "quantization-aware training needs `train_data`: an image folder with one subfolder "
                "per class, an .npz with x and y, or 'digits'"
            )
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise UsageError(f"`{name}` must be a positive whole number; received {value!r}")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise UsageError(
                f"`learning_rate` must be between 0 and 1 (fine-tuning uses small rates such as "
                f"3e-5); received {self.learning_rate!r}"
            )
        if self.strategy not in STRATEGIES:
            raise UsageError(f"`strategy` {self.strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")

    def to_dict(self) -> dict:
        return asdict(self)


def settings_from_options(enabled: bool, **given) -> QatSettings | None:
    """QatSettings when QAT is `enabled` (options left at None take their defaults); any
    fine-tuning option without QAT is a usage error naming it."""
    chosen = {name: value for name, value in given.items() if value is not None}
    if not enabled:
        if chosen:
            names = ", ".join(f"`{name}`" for name in chosen)
            raise UsageError(f"{names} apply to quantization-aware training; add `qat`")
        return None
    return QatSettings(chosen.pop("train_data", ""), **chosen)


@dataclass(frozen=True)
class QatResult:
    """A fine-tuned QAT model (tf_keras, not tied to a distribution strategy) and its record."""

    model: Any
    training: dict
    is_chief: bool


# ---------------------------------------------------------------------------------------
# tf.distribute


def start_strategy(name: str):
    """The tf.distribute strategy for `name`. Call it before TensorFlow runs anything else:
    MultiWorkerMirroredStrategy configures collective ops, which only works at start-up."""
    if name not in STRATEGIES:
        raise UsageError(f"`strategy` {name!r} is unknown; allowed: {', '.join(STRATEGIES)}")
    if name == "multiworker":
        _check_tf_config()
    tf = _tf.tensorflow()
    try:
        if name == "mirrored":
            return tf.distribute.MirroredStrategy()
        if name == "multiworker":
            return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        raise UsageError(
            f"`strategy` {name} cannot start: {one_line(str(exc), 200)}; start it "
            "before TensorFlow runs anything else in the process (a fresh `edgekit convert`)"
        ) from exc
    return tf.distribute.get_strategy()


def _check_tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError(
            "`strategy` multiworker needs the TF_CONFIG environment variable on every worker, "
            'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": '
            '"worker", "index": 0}}'
        )
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        int(task["index"]), str(task["type"])  # both must be present
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"TF_CONFIG is not a valid cluster description ({raw[:120]!r}); it needs "
            '"cluster": {"worker": [...]} and "task": {"type": ..., "index": ...}'
        ) from exc
    if not isinstance(workers, list) or not workers:
        raise UsageError("TF_CONFIG lists no workers; give cluster.worker as a list of host:port")
    return config


def writes_outputs(settings) -> bool:
    """Whether this process writes artifacts: always, except a non-chief multi-worker task
    (read from TF_CONFIG before TensorFlow starts; the chief rule of describe_strategy)."""
    if settings is None or settings.strategy != "multiworker":
        return True
    config = _check_tf_config()
    cluster, task = config["cluster"], config["task"]
    return task["type"] == "chief" or (task["type"] == "worker" and int(task["index"]) == 0
                                       and "chief" not in cluster)


def describe_strategy(strategy) -> dict:
    """Name, replicas, and for several workers this worker's role (the chief writes files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    name = type(strategy).__name__
    info = {"name": _STRATEGY_NAMES.get(name, name),
            "replicas": int(strategy.num_replicas_in_sync),
            "workers": 1, "task": None, "is_chief": True}
    if resolver is not None and resolver.task_type is not None:
        cluster = resolver.cluster_spec().as_dict()
        task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
        info["workers"] = sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))
        info["task"] = f"{task_type}:{task_id}"
        info["is_chief"] = task_type == "chief" or (task_type == "worker" and task_id == 0
                                                     and "chief" not in cluster)
    return info


# ---------------------------------------------------------------------------------------
# Data


def load_training_data(settings: QatSettings, input_shape, classes: int,
                       prep_args: dict | None = None) -> tuple[Dataset, Dataset | None]:
    """(train, val) with labels that fit a classifier with `classes` outputs."""
    prep_args = prep_args or {}
    train = load_data(settings.train_data, input_shape, role="training", name=settings.train_name, **prep_args)
    _check_labelled(train, "`train_data`", classes)
    val = None
    if settings.val_data is not None:
        val = load_data(settings.val_data, input_shape, role="validation", name=settings.val_name, **prep_args)
        _check_labelled(val, "`val_data`", classes)
        if train.class_names and val.class_names and train.class_names != val.class_names:
            raise BadInputError(
                f"`train_data` classes {list(train.class_names)} differ from `val_data` classes "
                f"{list(val.class_names)}; labels would not line up: use the same class folders"
            )
    return train, val


def _check_labelled(ds: Dataset, flag: str, classes: int) -> None:
    if ds.y is None:
        raise BadInputError(
            f"{flag} {ds.source} has no labels; fine-tuning needs them: pass an .npz with x and "
            "y, a folder with one subfolder per class, or 'digits'"
        )
    if len(ds) and int(ds.y.max()) >= classes:
        raise BadInputError(
            f"{flag} {ds.source} has labels up to {int(ds.y.max())} but the model has {classes} "
            f"output classes (0..{classes - 1}); use data labelled for this model"
        )
    if ds.class_names and len(ds.class_names) != classes:
        raise BadInputError(
            f"{flag} {ds.source} has {len(ds.class_names)} classes but the model has {classes} "
            "outputs; use data with one class per model output"
        )


def check_classifier(keras_model) -> int:
    """The number of classes of a single-output classifier; BadInputError otherwise."""
    outputs = getattr(keras_model, "outputs", None) or []
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else ()
    if len(shape) != 2 or not shape[1] or shape[1] < 2:
        raise BadInputError(
            f"QAT fine-tunes single-output classifiers (output shape (batch, classes)); "
            f"{keras_model.name!r} has output shape(s) {[tuple(o.shape) for o in outputs]}; "
            "convert it with the post-training int8 recipe instead"
        )
    return int(shape[1])


# ---------------------------------------------------------------------------------------
# The QAT model


def quantize_aware(tf_keras_model):
    """tfmot's fake-quantized twin of a bridged tf_keras model (weights carried over).

    Rescaling has no entry in tfmot's registry: it gets an output-only quantizer, so its
    rescaled output has a learned range like every other activation."""
    tfmot = _tf.tfmot()
    tfk = _tf.tf_keras()
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs as configs,
    )

    keras_q = tfmot.quantization.keras
    output_only = configs.Default8BitOutputQuantizeConfig

    def annotate(layer):
        if isinstance(layer, tfk.layers.Rescaling):
            return keras_q.quantize_annotate_layer(layer, output_only())
        return keras_q.quantize_annotate_layer(layer)

    annotated = tfk.models.clone_model(tf_keras_model, clone_function=annotate)
    try:
        with keras_q.quantize_scope({"Default8BitOutputQuantizeConfig": output_only}):
            return keras_q.quantize_apply(annotated)
    except (RuntimeError, ValueError, TypeError) as exc:
        reason = one_line(str(exc), 300)
        raise BadInputError(
            f"QAT: tensorflow-model-optimization cannot quantize {tf_keras_model.name!r}: "
            f"{reason}; convert it with the post-training int8 recipe instead"
        ) from exc


RANGE_SAMPLES = 512


def init_ranges(qat_model, plain_model, x: np.ndarray) -> dict:
    """Start the activation quantizers from the ranges the data produces (as calibration does).

    tfmot starts every moving-average range at [-6, 6] and moves it by 0.1% per training step,
    so a short fine-tuning would learn around ranges that fit no tensor. Each range
    `quant_LAYER/post_activation_*` or `quant_LAYER/output_*` (LAYER's output) and
    `quant_LAYER/pre_activation_*` (its output before the activation) is set from the float
    model's values on `x`; ranges of layers tfmot created itself keep tfmot's start.
    Returns {"initialized", "total"}."""
    tfk = _tf.tf_keras()
    layers = {layer.name: layer for layer in plain_model.layers}
    pairs = _range_variables(qat_model)
    wanted = {}
    for (layer_name, kind), variables in pairs.items():
        layer = layers.get(layer_name)
        if layer is not None and len(layer.inbound_nodes) == 1:
            wanted[(layer_name, kind)] = (layer, variables)
    tensors = []
    for (name, kind), (layer, _) in wanted.items():
        tensors.append(layer.input if kind == "pre_activation" else layer.output)
    probe = tfk.Model(plain_model.inputs, tensors) if tensors else None
    values = _run_chunks(probe, x) if probe is not None else []
    for ((name, kind), (layer, (low, high))), value in zip(wanted.items(), values):
        if kind == "pre_activation":
            value = _pre_activation(tfk, layer, value)
        low.assign(min(float(np.min(value)), 0.0))
        high.assign(max(float(np.max(value)), 0.0))
    return {"initialized": len(wanted), "total": len(pairs)}


def _range_variables(qat_model) -> dict:
    """{(layer name in the float model, kind): (min variable, max variable)}.

    kind "output" covers `quant_LAYER/post_activation_*` and `quant_LAYER/output_*` and the
    input quantizer (QuantizeLayer, whose range is the model input's, initially [0, 0]);
    "pre_activation" is `quant_LAYER/pre_activation_*`."""
    found: dict = {}
    for layer in qat_model.layers:
        if type(layer).__name__ == "QuantizeLayer":
            sources = layer.inbound_nodes[0].inbound_layers if layer.inbound_nodes else None
            ends = {v.name.split(":")[0].rsplit("_", 1)[-1]: v for v in layer.weights}
            if sources is not None and not isinstance(sources, list) and {"min", "max"} <= set(ends):
                found[(sources.name, "output")] = [ends["min"], ends["max"]]
            continue
        if not layer.name.startswith("quant_"):
            continue
        for variable in layer.weights:
            leaf = variable.name.split(":")[0].split("/")[-1]
            for suffix, kind in (("post_activation", "output"), ("output", "output"),
                                 ("pre_activation", "pre_activation")):
                if leaf in (f"{suffix}_min", f"{suffix}_max"):
                    slot = found.setdefault((layer.name[len("quant_"):], kind), [None, None])
                    slot[0 if leaf.endswith("_min") else 1] = variable
    return {key: tuple(pair) for key, pair in found.items() if all(v is not None for v in pair)}


def _run_chunks(model, x, chunk: int = 128) -> list[np.ndarray]:
    parts = [model(x[i:i + chunk], training=False) for i in range(0, len(x), chunk)]
    parts = [p if isinstance(p, (list, tuple)) else [p] for p in parts]
    return [np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(parts[0]))]


def _pre_activation(tfk, layer, inputs: np.ndarray) -> np.ndarray:
    """`layer`'s output without its activation (a linear twin with the same weights)."""
    config = dict(layer.get_config(), activation="linear", name=f"{layer.name}_linear_twin")
    twin = type(layer).from_config(config)
    twin.build(inputs.shape)
    twin.set_weights(layer.get_weights())
    return np.asarray(twin(inputs))


def _looks_like_probabilities(outputs: np.ndarray) -> bool:
    sums = outputs.sum(axis=1)
    return bool(outputs.min() >= 0 and np.allclose(sums, 1.0, atol=1e-3))


def _tf_dataset(tf, ds: Dataset, batch_size: int, seed: int, shuffle: bool):
    data = tf.data.Dataset.from_tensor_slices((ds.x, ds.y))
    if shuffle:
        data = data.shuffle(len(ds), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.batch(batch_size).with_options(options)


def fine_tune(
    keras_model,
    settings: QatSettings,
    strategy,
    train: Dataset,
    val: Dataset | None,
    on_step: Callable[[str], None] | None = None,
) -> QatResult:
    """Bridge, check, wrap with fake quantization and fine-tune `keras_model` (Keras 3).

    `batch_size` is the global batch: under several replicas each gets an equal share."""
    step = on_step or (lambda message: None)
    tf, tfk = _tf.tensorflow(), _tf.tf_keras()
    bridge.check_bridgeable(keras_model)
    check_classifier(keras_model)
    step("QAT: rebuilding the model in Keras 2 (tf_keras)")
    plain = bridge.to_tf_keras(keras_model)
    check_x = (val if val is not None else train).x[:BRIDGE_CHECK_SAMPLES]
    bridge_error = bridge.check_match(keras_model, plain, check_x)
    probabilities = _looks_like_probabilities(np.asarray(keras_model(check_x, training=False)))
    info = describe_strategy(strategy)
    step(f"QAT: fine-tuning under {info['name']} ({info['replicas']} replica(s), "
         f"{info['workers']} worker(s))")
    trained = quantize_aware(plain)
    ranges = init_ranges(trained, plain, train.x[:RANGE_SAMPLES])
    distributed = not info["name"].startswith("default")
    with strategy.scope():
        model = quantize_aware(bridge.to_tf_keras(keras_model)) if distributed else trained
        if distributed:
            model.set_weights(trained.get_weights())
        model.compile(
            optimizer=tfk.optimizers.Adam(settings.learning_rate),
            loss=tfk.losses.SparseCategoricalCrossentropy(from_logits=not probabilities),
            metrics=["accuracy"],
        )
    history, seconds, stopped = _fit(tf, tfk, model, settings, train, val, step)
    if distributed:  # a plain copy, free of the strategy; every worker takes part in this read
        trained.set_weights(model.get_weights())
    record = {
        "settings": settings.to_dict(),
        "strategy": info,
        "train_data": train.to_summary(),
        "val_data": val.to_summary() if val is not None else None,
        "loss": "sparse categorical cross-entropy" + ("" if probabilities else " (from logits)"),
        "optimizer": "Adam",
        "epochs_run": len(history.get("loss", [])),
        "stopped_early": stopped,
        "history": {k: [float(v) for v in values] for k, values in history.items()},
        "seconds": round(seconds, 3),
        "bridge_max_abs_error": bridge_error,
        "ranges_initialized_from_data": ranges,
    }
    return QatResult(trained, record, info["is_chief"])


def _fit(tf, tfk, model, settings, train, val, step):
    """model.fit with per-epoch progress and early stopping on the validation loss."""
    epochs = settings.epochs

    def report(epoch, logs):
        parts = [f"{k} {v:.4f}" for k, v in (logs or {}).items()]
        step(f"QAT epoch {epoch + 1}/{epochs}: {', '.join(parts)}")

    callbacks = [tfk.callbacks.LambdaCallback(on_epoch_end=report)]
    stopper = None
    if val is not None:
        stopper = tfk.callbacks.EarlyStopping(
            monitor="val_loss", patience=settings.patience, restore_best_weights=True
        )
        callbacks.append(stopper)
    data = _tf_dataset(tf, train, settings.batch_size, settings.seed, shuffle=True)
    val_data = _tf_dataset(tf, val, settings.batch_size, settings.seed, shuffle=False) if val is not None else None
    started = time.perf_counter()
    try:
        history = model.fit(data, validation_data=val_data, epochs=epochs, verbose=0, callbacks=callbacks)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as exc:
        lines = [ln.strip() for ln in str(getattr(exc, "message", exc)).splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if "abort" in ln.lower() or "down" in ln),
                      lines[-1] if lines else type(exc).__name__)
        raise DeviceError(
            f"`strategy` {settings.strategy}: fine-tuning lost contact with a worker "
            f"({reason[:200]}); restart the command on every worker"
        ) from exc
    seconds = time.perf_counter() - started
    stopped = bool(stopper is not None and stopper.stopped_epoch > 0)
    return history.history, seconds, stopped


# ---------------------------------------------------------------------------------------
# Export


def export_saved_model(qat_model, input_specs, directory: Path) -> None:
    """A SavedModel of the fine-tuned QAT model with the source model's static input specs."""
    tf = _tf.tensorflow()
    specs = [tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in input_specs]

    @tf.function(input_signature=specs)
    def serve(*inputs):
        out = qat_model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)
        return {"output_0": out}

    module = tf.Module()
    module.variables_ = list(qat_model.variables)  # the variables only: no Keras layer traces
    module.serve = serve
    tf.saved_model.save(module, str(directory), signatures={"serving_default": serve})
