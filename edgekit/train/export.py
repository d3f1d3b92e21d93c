"""`train --export/--qat/--edgetpu`: the trained model through the convert pipeline, in the same call.

Calibration draws from the training split only, and the artifacts are verified (accuracy in
their manifests) on the test split only, so no test image ever shapes or flatters an int8
model. The splits are handed to `edgekit.convert.convert` as data it reads like any user's:
image folders (one subfolder per class, links to the original files, so convert decodes
them with Pillow exactly as the device will) or .npz files of model-ready arrays, in a
temporary folder. The labels and preprocessing come from the training record beside the
model (see `edgekit.train.record.use_training_record`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._files import temp_folder
from .options import ExportOptions, TrainOptions

QAT_MAX_SAMPLES = 5000  # QAT holds its training data in memory as float32


def export(model_path: Path, parts: dict, exporting: ExportOptions, options: TrainOptions, force: bool, step,
           data: str = "DATA"):
    """Run convert on the trained model (trained on `data`); returns its ConvertResult."""
    from ..convert import EdgeTpuOptions, convert
    from ..quantize.qat import QatSettings

    recipes = list(exporting.recipes)
    with temp_folder("edgekit-train-export-") as tmp:
        folder = Path(tmp)
        calib = write_split(folder, "train-split", subset(parts["train"], 2 * exporting.calib_samples, options.seed))
        eval_part = "test" if len(parts["test"]) else "val"
        evaluation = write_split(folder, f"{eval_part}-split", parts[eval_part]) if len(parts[eval_part]) else None
        qat = None
        if any(r.needs_training for r in recipes):
            train = write_split(folder, "qat-train", subset(parts["train"], QAT_MAX_SAMPLES, options.seed))
            val = write_split(folder, "qat-val", parts["val"]) if len(parts["val"]) else None
            qat = QatSettings(train, val, batch_size=options.batch_size, seed=options.seed,
                              train_name=split_name("training", data, options),
                              val_name=split_name("validation", data, options))
        tpu = EdgeTpuOptions(on_check=exporting.on_check) if exporting.edgetpu else None
        step(f"exporting {', '.join(r.name for r in recipes)}: calibration from the training split, "
             f"verification on the {eval_part} split")
        names = {"calib": split_name("training", data, options),
                 "eval": split_name(SPLIT_WORDS[eval_part], data, options)}
        return convert(model_path, recipes, calib=calib, eval=evaluation, calib_samples=exporting.calib_samples,
                       force=force, qat=qat, edgetpu=tpu, data_names=names, on_step=step)


SPLIT_WORDS = {"test": "test", "val": "validation"}


def split_name(part: str, data: str, options: TrainOptions) -> str:
    """What manifests call a split of `data` (its files live in a temporary folder)."""
    given = {"test": options.test_data, "validation": options.val_data}.get(part)
    if given is not None:  # a separate data set, not a split
        return given
    return f"the {part} split of {data} (seed {options.seed})"


def subset(source, count: int, seed: int):
    """At most `count` samples of `source`: a seeded random subset (the split keeps the class mix)."""
    if len(source) <= count:
        return source
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(source))
    picked = np.sort(order[:count])
    return source.take(picked)


def write_split(folder: Path, name: str, source) -> str:
    """`source` as data convert reads: a class folder of links, or an .npz."""
    if source.kind == "arrays":
        path = folder / f"{name}.npz"
        np.savez(path, x=source.x, y=source.labels, class_names=np.asarray(source.class_names))
        return str(path)
    root = folder / name
    for class_name in source.class_names:  # every class, even empty: labels follow the folder order
        (root / class_name).mkdir(parents=True)
    for i, (file, label) in enumerate(zip(source.files, source.labels)):
        os.symlink(os.path.abspath(file), root / source.class_names[label] / f"{i:06d}_{file.name}")
    return str(root)
