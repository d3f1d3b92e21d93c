"""From a data spec to split, decoded, streamable samples, with everything said about them.

    read sources -> image headers (modes, sizes, unreadable files) -> channels and input size
    -> stratified split -> architecture checked against the input -> decode once to the cache
    -> unreadable files listed (skipped with `skip_bad`, else one error) -> classes checked
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artifact import Preprocessing
from ..errors import UsageError
from ..runtime.preprocess import make_preprocessing
from . import architectures, data as data_mod, stream
from .options import TrainOptions
from .record import BadFile, DataInfo, SplitInfo

SPLITS = stream.SPLITS


@dataclass(frozen=True, eq=False)
class Prepared:
    store: stream.Store
    parts: dict  # split -> Source (readable samples only), for the record and the export
    info: DataInfo
    split: SplitInfo
    arch: str
    arch_reason: str
    alpha: float | None
    preprocessing: Preprocessing | None
    notes: tuple[str, ...]

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return self.store.sample_shape


def check_specs(data, options: TrainOptions) -> None:
    """That each data spec exists and is of a kind `train` reads (before TensorFlow)."""
    from ..data.load import check_spec

    for spec, role in ((data, "training"), (options.val_data, "validation"), (options.test_data, "test")):
        if spec is not None and not (isinstance(spec, str) and spec in data_mod.BUILTIN_DATASETS):
            check_spec(Path(spec), role)


@dataclass(frozen=True, eq=False)
class Plan:
    """The data read and split, the input shape and architecture decided (no TensorFlow yet)."""

    main: object  # the training Source
    parts: dict  # split -> Source
    shape: tuple[int, int, int]
    arch: tuple  # (name, why, alpha)
    preprocessing: Preprocessing | None
    bad: tuple[BadFile, ...]  # images whose header cannot be read
    modes: dict  # image path -> its colour mode (Pillow)


def plan(data, options: TrainOptions, step) -> Plan:
    """Read the sources (and image headers), split them, decide the input and the architecture."""
    step(f"reading {data}")
    main = data_mod.read_source(data, "training")
    data_mod.check_classes(main, "training")
    extra = {}
    for split, spec in (("val", options.val_data), ("test", options.test_data)):
        if spec is not None:
            extra[split] = data_mod.read_source(spec, {"val": "validation", "test": "test"}[split])
            data_mod.same_classes(main, extra[split], extra[split].spec)
    if any(s.kind != main.kind for s in extra.values()):
        raise UsageError("`val_data`/`test_data` must be of the training data's kind (image folders with image "
                         "folders, arrays with arrays): the model input is made the same way for all")
    if main.kind == "arrays":
        shape = _array_shape(main, extra, options)
        parts = _split(main, extra, options)
        return Plan(main, parts, shape, _architecture(options, shape, len(parts["train"]), True), None, (), {})
    return _plan_images(main, extra, options, step)


def _array_shape(main, extra: dict, options: TrainOptions) -> tuple[int, int, int]:
    shape = tuple(int(d) for d in main.x.shape[1:])
    for source in extra.values():
        if tuple(source.x.shape[1:]) != shape:
            raise UsageError(f"{source.spec} has samples of shape {source.x.shape[1:]}; the training data has {shape}")
    if options.input_size is not None and tuple(options.input_size) != shape[:2]:
        raise UsageError(f"`input_size` resizes images from folders; the arrays of {main.spec} are already "
                         f"{shape[0]}x{shape[1]}: leave `input_size` out, or resize x before saving it")
    if options.channels is not None and options.channels != shape[2]:
        raise UsageError(f"`channels` converts images from folders; the arrays of {main.spec} have {shape[2]} "
                         "channel(s): leave `channels` out")
    return shape


def _plan_images(main, extra: dict, options: TrainOptions, step) -> Plan:
    step(f"reading image headers ({len(main) + sum(len(s) for s in extra.values())} files)")
    headers = {"main": data_mod.read_headers(main.files, step)}
    headers.update({split: data_mod.read_headers(s.files) for split, s in extra.items()})
    bad = tuple(BadFile(str(src.files[i]), why) for key, src in (("main", main), *extra.items())
                for i, why in headers[key].bad.items())
    modes = {str(src.files[i]): m for key, src in (("main", main), *extra.items())
             for i, m in headers[key].modes.items()}
    main, extra = _drop(main, headers["main"].bad), {s: _drop(src, headers[s].bad) for s, src in extra.items()}
    channels = data_mod.choose_channels(list(modes.values()), options.channels, options.weights)
    least = architectures.MIN_SIDE.get(options.arch or "cnn", 8) if options.weights == "none" else 32
    size = options.input_size or (data_mod.default_side(list(headers["main"].sizes.values()), least),) * 2
    parts = _split(main, extra, options)
    shape = (size[0], size[1], channels)
    arch = _architecture(options, shape, len(parts["train"]))
    scale, mean, std = architectures.scaling(arch[0])
    return Plan(main, parts, shape, arch, make_preprocessing(channels, scale, mean, std), bad, modes)


def load(planned: Plan, options: TrainOptions, folder: Path, step) -> Prepared:
    """The samples of each split in a Store (images decoded once into `folder`)."""
    parts, bad = dict(planned.parts), list(planned.bad)
    if planned.preprocessing is None:
        store = stream.array_store(parts, planned.shape)
        return _finish(planned.main, parts, store, options, planned.arch, None, [], {}, step)
    size = "x".join(map(str, planned.shape))
    step(f"decoding {sum(len(p) for p in parts.values())} images to {size} (once; cached on disk for every epoch)")
    store, undecodable = stream.decode_images(parts, planned.shape, folder, step)
    for split, items in undecodable.items():
        bad += [BadFile(str(parts[split].files[i]), why) for i, why in items]
        parts[split] = parts[split].take(np.setdiff1d(np.arange(len(parts[split])), [i for i, _ in items]))
    if bad and not options.skip_bad:
        raise data_mod.bad_error(bad)
    kept = [planned.modes[str(f)] for p in parts.values() for f in p.files]
    converted = data_mod.conversions(kept, planned.shape[2])
    return _finish(planned.main, parts, store, options, planned.arch, planned.preprocessing, bad, converted, step)


def _split(main, extra: dict, options: TrainOptions) -> dict:
    train, val, test = data_mod.split_indices(main.labels, len(main.class_names), options.own_val_split,
                                              options.own_test_split, options.seed)
    parts = {"train": main.take(train), "val": main.take(val), "test": main.take(test)}
    parts.update(extra)
    return parts


def _drop(source, bad: dict):
    if not bad:
        return source
    return source.take(np.setdiff1d(np.arange(len(source)), list(bad)))


def _architecture(options: TrainOptions, shape, train_images: int, arrays: bool = False):
    arch, reason = architectures.choose(options.arch, options.weights, min(shape[:2]), train_images)
    alpha = architectures.default_alpha(arch, options.alpha)
    architectures.check(arch, tuple(shape), options.weights, alpha, arrays=arrays)
    return arch, reason, alpha


def _finish(main, parts: dict, store, options: TrainOptions, arch, preprocessing, bad, converted, step) -> Prepared:
    if bad:
        data_mod.check_classes(_merged(parts), "training")
    counts = {split: parts[split].counts() for split in SPLITS}
    total = sum(len(p) for p in parts.values())
    notes = [n for n in (data_mod.imbalance_note(main.class_names, counts["train"]),
                         data_mod.conversion_note(converted, store.sample_shape[2], total)) if n]
    if bad:
        notes.append(f"{len(bad)} unreadable image(s) skipped (`skip_bad`); listed in the training record")
    if not sum(counts["test"]):
        notes.append("no test split: the test metrics are missing; pass `test_split` or `test_data`")
    info = DataInfo(main.spec, "images" if store.pixels else "arrays", main.class_names, store.sample_shape,
                    counts, converted, tuple(bad), bool(bad), data_mod.imbalance(counts["train"]))
    split = SplitInfo(options.seed, options.own_val_split, options.own_test_split, options.val_data,
                      options.test_data, *(tuple(parts[s].names(range(len(parts[s])))) for s in SPLITS))
    step(f"split: {len(parts['train'])} train, {len(parts['val'])} validation, {len(parts['test'])} test "
         f"({len(main.class_names)} classes, seed {options.seed})")
    return Prepared(store, parts, info, split, arch[0], arch[1], arch[2], preprocessing, tuple(notes))


def _merged(parts: dict):
    """All splits as one source (for the class check after unreadable files were dropped)."""
    from dataclasses import replace

    first = parts["train"]
    labels = np.concatenate([parts[s].labels for s in SPLITS])
    return replace(first, labels=labels, files=tuple(f for s in SPLITS for f in parts[s].files))
