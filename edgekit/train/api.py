"""`train`: labelled data -> a trained, device-ready Keras model, its record and report, and
(optionally) the converted artifacts, in one call.

Order of work: every option, data path and output path is checked before TensorFlow is
imported; the outputs are locked; the tf.distribute strategy starts (before TensorFlow runs
anything); the data is read, split and decoded once; the model is built and the output folder
checked for room; training runs (see `fit.py`); the test split is measured; the chief writes
NAME.keras, NAME.train.json and NAME.train.html; the export runs convert on the result.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from .. import _tf
from .._files import check_outputs, output_lock, temp_folder
from ..artifact import package_versions
from ..artifact.manifest import now
from ..data import BUILTIN_DATASETS
from ..errors import UsageError
from ..quantize import qat as qat_mod
from . import architectures, fit as fit_mod, stream
from .metrics import metrics_on_test
from .options import DEFAULT_AUGMENT, ExportOptions, TrainOptions, export_options
from .output import check_room, planned_files, rewrite_record, write_outputs
from .prepare import Plan, Prepared, check_specs, load, plan
from .record import ArchInfo, EpochRecord, Settings, TrainResult


def train(
    data,
    *,
    output: str | Path | None = None,
    arch: str | None = None,
    input_size=None,
    alpha: float | None = None,
    weights: str | Path = "none",
    channels: int | None = None,
    epochs: int = 20,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    fine_tune: int = 0,
    fine_tune_epochs: int | None = None,
    patience: int = 3,
    val_split: float | None = None,
    test_split: float | None = None,
    val_data: str | Path | None = None,
    test_data: str | Path | None = None,
    augment=None,
    seed: int = 0,
    strategy: str = "default",
    skip_bad: bool = False,
    export=(),
    io: str | None = None,
    qat: bool = False,
    edgetpu: bool = False,
    calib_samples: int = 200,
    force: bool = False,
    data_name: str | None = None,
    on_step: Callable[[str], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_check: Callable | None = None,
) -> TrainResult:
    """Train a classifier on `data` and write OUTPUT.keras (+ .train.json, .train.html).

    data: a folder with one subfolder per class, an .npz (x NHWC, y, class_names), or
    'digits'. output: the .keras path (default: DATA_NAME.keras here) or a folder.
    arch: cnn | mobilenetv2 | mobilenetv3small | mobilenetv3large | efficientnet-lite (default:
    by input and data size, see `architectures.choose`); input_size: 96 or (96, 128) for
    image folders; weights: imagenet | none | a weights file (transfer learning: frozen base,
    head trained, then `fine_tune` top layers at a tenth of `learning_rate`).
    export: recipe names converted with calibration from the training split and verification
    on the test split; qat adds qat-int8, edgetpu compiles the int8 artifact.
    data_name: what the training record and the exported manifests call `data` (default: the
    spec as given), for data in a folder that will move (`edgekit demo` builds in a temp folder).
    on_step(text) reports progress, on_epoch(EpochRecord) each epoch; Ctrl-C stops after the
    current step, keeps the best model so far and returns a result with `interrupted`."""
    options = TrainOptions(
        arch=arch, input_size=input_size, alpha=alpha, weights=weights, channels=channels, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, fine_tune=fine_tune, fine_tune_epochs=fine_tune_epochs,
        patience=patience, val_split=val_split, test_split=test_split, val_data=val_data, test_data=test_data,
        augment=augment, seed=seed, strategy=strategy, skip_bad=skip_bad)
    exporting = export_options(export, io=io, qat=qat, edgetpu=edgetpu, calib_samples=calib_samples,
                               on_check=on_check)
    return run(data, options, exporting, output=output, force=force, on_step=on_step, on_epoch=on_epoch,
               data_name=data_name)


def model_output(data: str, output: str | Path | None) -> Path:
    """Where the model goes: `output` (a .keras path or an existing folder), else DATA_NAME.keras here."""
    stem = Path(data.rstrip("/")).stem or "model"
    if output is None:
        return Path.cwd() / f"{stem}.keras"
    output = Path(output)
    if output.is_dir():
        return output / f"{stem}.keras"
    if output.suffix != ".keras":
        raise UsageError(f"`output` {output} must name a .keras file (or an existing folder); the training record "
                         "and report are written beside it")
    return output


def run(data, options: TrainOptions, exporting: ExportOptions, *, output=None, force: bool = False,
        on_step=None, on_epoch=None, data_name: str | None = None) -> TrainResult:
    """Check, lock, train, write, export (see the module docstring)."""
    step = on_step or (lambda message: None)
    data = os.fspath(data) if isinstance(data, os.PathLike) else str(data)
    check_specs(data, options)
    model_path = model_output(data, output)
    files = planned_files(model_path, exporting.recipes, exporting.edgetpu)
    inputs = [p for p in (data, options.val_data, options.test_data, options.weights)
              if p is not None and p not in BUILTIN_DATASETS and p not in ("none", "imagenet")]
    check_outputs(files, force, inputs=inputs)
    chief = qat_mod.writes_outputs(options)
    with output_lock(files[:3] if chief else []):  # the export's files: convert locks them itself
        planned = plan(data, options, step)  # data errors are said before TensorFlow is imported
        strategy = qat_mod.start_strategy(options.strategy)  # before TensorFlow runs anything
        with temp_folder("edgekit-train-") as tmp:
            model, result, prepared = _train(planned, options, exporting, strategy, Path(tmp), model_path, chief,
                                             step, on_epoch or (lambda record: None))
            if data_name:
                result = replace(result, data=replace(result.data, source=data_name))
            if chief and result.best is not None:  # at least one epoch finished
                step(f"writing {model_path.name}, {model_path.stem}.train.json and {model_path.stem}.train.html")
                result = write_outputs(model, result, model_path, _render_page)
        if chief and result.model is not None and exporting.wanted and not result.interrupted:
            from .export import export

            converted = export(model_path, prepared.parts, exporting, options, force, step, data=data_name or data)
            result = replace(result, export=converted)
            rewrite_record(result, _render_page)
    return result


def _render_page(result: TrainResult) -> str:
    from ..report.training_html import render_training_html

    return render_training_html(result)


def _train(planned: Plan, options: TrainOptions, exporting: ExportOptions, strategy, folder: Path,
           model_path: Path, chief: bool, step, on_epoch):
    """(model, result without files, prepared data)."""
    keras = _tf.keras()
    started = time.monotonic()
    keras.utils.set_random_seed(options.seed)
    (arch, reason, alpha), classes = planned.arch, planned.main.class_names
    step(f"building {arch} for {'x'.join(map(str, planned.shape))} inputs, {len(classes)} classes ({reason}; "
         f"weights {_weights_name(options.weights)})")
    with strategy.scope():  # before decoding: missing weights are said at once
        model = architectures.build(arch, planned.shape, len(classes), alpha=alpha, weights=options.weights)
    if chief:
        check_room(model_path, model.count_params(), sum(len(p) for p in planned.parts.values()), exporting.recipes)
    prepared = load(planned, options, folder, step)
    store = prepared.store
    base, thawed = model.get_layer("base"), [0]

    def before_phase(phase: fit_mod.Phase) -> None:
        if phase.name == "fine-tune":
            thawed[0] = fit_mod.unfreeze_top(base, options.fine_tune)
            step(f"fine-tuning the top {thawed[0]} layers of the base at learning rate {phase.learning_rate:g}")
        elif phase.name == "head":
            step(f"training the head on the frozen base ({len(base.layers)} layers) at learning rate "
                 f"{phase.learning_rate:g}")

    loop_kwargs = _loop_data(prepared, options)
    with fit_mod.StopRequest(enabled=options.strategy != "multiworker") as stop:
        loop = fit_mod.Loop(model, strategy, train_count=store.count("train"), batch_size=options.batch_size,
                            patience=options.patience, on_step=step, on_epoch=on_epoch, stop=stop, **loop_kwargs)
        outcome = fit_mod.fit(loop, _phases(options), before_phase)
    test = _measure_test(loop, prepared, options) if outcome.has_weights and store.count("test") else None
    arch = ArchInfo(prepared.arch, prepared.alpha, _weights_name(options.weights),
                    (1, *prepared.sample_shape), int(model.count_params()),
                    int(sum(int(w.numpy().size) for w in model.trainable_weights)), len(base.layers), thawed[0],
                    prepared.arch_reason)
    result = TrainResult(
        created=now(), versions=package_versions(), model=None, data=prepared.info, split=prepared.split,
        architecture=arch, preprocessing=prepared.preprocessing, labels=classes, settings=_settings(options, store),
        strategy=qat_mod.describe_strategy(strategy), history=tuple(outcome.history), best=outcome.best,
        stopped_early=outcome.stopped_early, interrupted=outcome.interrupted, test=test,
        seconds=round(time.monotonic() - started, 2), notes=_notes(prepared, options, chief, strategy))
    return model, result, prepared


def _loop_data(prepared: Prepared, options: TrainOptions) -> dict:
    store, prep = prepared.store, prepared.preprocessing
    names = options.augment if options.augment is not None else (DEFAULT_AUGMENT if store.pixels else ())
    value_range = (0.0, 255.0)
    if not store.pixels and names:
        x = store.arrays["train"]
        value_range = (float(x.min()), float(x.max()))
    augmenter = stream.make_augmenter(names, options.seed, value_range)
    return {"train_data": stream.training_data(store, options.batch_size, options.seed, augmenter, prep),
            "val_data": stream.eval_data(store, "val", options.batch_size, prep) if store.count("val") else None}


def _phases(options: TrainOptions) -> list[fit_mod.Phase]:
    if not options.pretrained:
        return [fit_mod.Phase("train", options.epochs, options.learning_rate)]
    phases = [fit_mod.Phase("head", options.epochs, options.learning_rate)]
    if options.fine_tune:
        phases.append(fit_mod.Phase("fine-tune", options.planned_fine_tune_epochs, options.fine_tune_learning_rate))
    return phases


def _measure_test(loop, prepared: Prepared, options: TrainOptions):
    probs, labels = fit_mod.predict(loop, stream.eval_data(prepared.store, "test", options.batch_size,
                                                           prepared.preprocessing))
    return metrics_on_test(probs, labels, prepared.info.class_names, fit_mod.cross_entropy(probs, labels))


def _settings(options: TrainOptions, store) -> Settings:
    augment = options.augment if options.augment is not None else (DEFAULT_AUGMENT if store.pixels else ())
    return Settings(options.epochs, options.batch_size, options.learning_rate,
                    f"Adam, cosine decay to {fit_mod.FINAL_LR_FRACTION:g}x per phase", options.fine_tune,
                    options.planned_fine_tune_epochs, options.fine_tune_learning_rate, options.patience,
                    tuple(augment), options.seed, options.strategy)


def _weights_name(weights: str) -> str:
    return weights if weights in ("imagenet", "none") else Path(weights).name


def _notes(prepared: Prepared, options: TrainOptions, chief: bool, strategy) -> tuple[str, ...]:
    notes = list(prepared.notes)
    if prepared.store.pixels and not options.pretrained and min(prepared.sample_shape[:2]) >= 32 \
            and prepared.store.count("train") < architectures.SCRATCH_MOBILENET_IMAGES:
        notes.append("trained from scratch on few images: `weights` imagenet (downloaded once by Keras) usually "
                     "gives far better accuracy on photos")
    if not prepared.store.count("val"):
        notes.append("no validation split: no early stopping; the last epoch's weights were kept")
    if not chief:
        task = qat_mod.describe_strategy(strategy)["task"]
        notes.append(f"worker {task} took part in training; the chief worker writes the model and its artifacts")
    return tuple(notes)
