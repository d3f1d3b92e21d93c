"""Samples to tf.data pipelines with bounded memory.

Images are decoded once: a tf.data pass reads every file of the split (in parallel, in
order) with the device runtime's own `load_image` (Pillow: colour conversion and bilinear
resize exactly as `Model.classify` does them on the device, so training sees what the device
will see), and appends the uint8 pixels to one record file per split in a temporary folder.
Training then streams those records (`FixedLengthRecordDataset`): a shuffle buffer of at
most 32 MiB (the training split is written in shuffled order), a repeat, batching, the
augmentation layers, the pixel scaling, prefetch. Memory does not grow with the folder: the
pixels live on disk (and in the OS page cache), never all in Python.

Model-ready arrays (.npz, built-in sets) are already in memory; they go to tf.data as they are.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _tf
from ..errors import BadInputError
from ..report.format import fmt_bytes
from ..runtime.preprocess import color_mode, load_image

SPLITS = ("train", "val", "test")
SHUFFLE_BYTES = 32 * 2**20
MIN_SHUFFLE = 256
PROGRESS_S = 5.0
PREFETCH_BATCHES = 4  # fixed: tf.data's autotuned prefetch grows its buffers over a long run
SPACE_MARGIN = 16 * 2**20


@dataclass(frozen=True, eq=False)
class Store:
    """Each split's samples, ready for tf.data: uint8 pixel records on disk (`folder`) or
    model-ready float32 arrays (`arrays`), with their labels."""

    sample_shape: tuple[int, int, int]
    labels: dict
    folder: Path | None = None
    arrays: dict | None = None

    @property
    def pixels(self) -> bool:
        """True when samples are raw uint8 pixels that still need the model's scaling."""
        return self.arrays is None

    def count(self, split: str) -> int:
        return int(len(self.labels[split]))

    @property
    def record_bytes(self) -> int:
        return int(np.prod(self.sample_shape))

    def dataset(self, split: str):
        """(sample, label) pairs of `split`, in stored order."""
        tf = _tf.tensorflow()
        labels = tf.data.Dataset.from_tensor_slices(self.labels[split])
        if self.arrays is not None:
            return tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(self.arrays[split]), labels))
        shape = self.sample_shape
        records = tf.data.FixedLengthRecordDataset(str(self.folder / f"{split}.u8"), self.record_bytes,
                                                   buffer_size=256 * 1024)
        pixels = records.map(lambda r: tf.reshape(tf.io.decode_raw(r, tf.uint8), shape),
                             num_parallel_calls=tf.data.AUTOTUNE)
        return tf.data.Dataset.zip((pixels, labels))


def array_store(parts: dict, shape) -> Store:
    """A Store of model-ready arrays: {split: Source of kind "arrays"}."""
    return Store(tuple(shape), {s: p.labels for s, p in parts.items()}, arrays={s: p.x for s, p in parts.items()})


def check_space(folder: Path, need: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if free < need + SPACE_MARGIN:
        raise BadInputError(
            f"no space left for {what}: it needs about {fmt_bytes(need)} in {folder} and {fmt_bytes(free)} are free; "
            "free some space or choose another folder")


def decode_images(parts: dict, shape, folder: Path, step) -> tuple[Store, dict]:
    """Decode the images of each split ({split: Source}) into record files in `folder`.

    Returns the Store (labels of the readable images only) and {split: [(index, reason)]}
    for the images that cannot be decoded."""
    height, width, channels = shape
    total = sum(len(p) for p in parts.values())
    check_space(folder, total * height * width * channels, "the decoded-image cache (set TMPDIR to move it)")
    labels, bad, done = {}, {}, [0]
    started = time.monotonic()
    last = [started]
    for split, source in parts.items():
        kept, bad[split] = [], []
        with open(folder / f"{split}.u8", "wb") as out:
            for i, (pixels, error) in enumerate(_decoded(source.files, shape).as_numpy_iterator()):
                if error:
                    bad[split].append((i, error.decode("utf-8", "replace")))
                else:
                    out.write(pixels.tobytes())
                    kept.append(i)
                done[0] += 1
                if time.monotonic() - last[0] >= PROGRESS_S:
                    last[0] = time.monotonic()
                    rate = done[0] / (last[0] - started)
                    step(f"reading images: {done[0]}/{total} ({rate:.0f} images/s)")
        labels[split] = source.labels[np.asarray(kept, dtype=np.int64)]
    return Store(tuple(shape), labels, folder=folder), bad


def _decoded(files, shape):
    """(pixels, error) per file, decoded in parallel, in order."""
    tf = _tf.tensorflow()
    height, width, channels = shape
    color = color_mode(channels)
    blank = np.zeros(shape, np.uint8)

    def decode(path: bytes):
        try:
            return load_image(path.decode("utf-8", "surrogateescape"), height, width, color), b""
        except Exception as exc:  # noqa: BLE001 - any failure means this file cannot be used
            cause = exc.__cause__ or exc
            return blank, (" ".join(str(cause).split()) or type(cause).__name__)[:160].encode("utf-8", "replace")

    def mapped(path):
        pixels, error = tf.numpy_function(decode, [path], (tf.uint8, tf.string), stateful=False)
        return tf.ensure_shape(pixels, shape), error

    paths = [str(p).encode("utf-8", "surrogateescape") for p in files]
    data = tf.data.Dataset.from_tensor_slices(tf.constant(paths, dtype=tf.string, shape=(len(paths),)))
    return data.map(mapped, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(8)


# ---------------------------------------------------------------------------------------
# Pipelines


def make_augmenter(names, seed: int, value_range: tuple[float, float]):
    """The augmentation layers (Keras preprocessing layers, seeded), or None."""
    if not names:
        return None
    keras = _tf.keras()
    layers = keras.layers
    made = {
        "flip": lambda: layers.RandomFlip("horizontal", seed=seed + 1, name="flip"),
        "rotation": lambda: layers.RandomRotation(0.05, fill_mode="nearest", seed=seed + 2, name="rotation"),
        "zoom": lambda: layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 3, name="zoom"),
        "contrast": lambda: layers.RandomContrast(0.2, value_range=value_range, seed=seed + 4, name="contrast"),
    }
    return keras.Sequential([made[n]() for n in names], name="augment")


def scaler(preprocessing):
    """x -> (x * scale - mean) / std as TensorFlow ops (None: identity)."""
    if preprocessing is None:
        return lambda x: x
    tf = _tf.tensorflow()
    scale = tf.constant(preprocessing.scale, tf.float32)
    mean = tf.constant(preprocessing.mean, tf.float32)
    std = tf.constant(preprocessing.std, tf.float32)
    return lambda x: (x * scale - mean) / std


def training_data(store: Store, batch: int, seed: int, augmenter, preprocessing):
    """Endless shuffled, augmented, scaled batches of the training split (a global batch:
    tf.distribute splits it over the replicas and shards it over the workers)."""
    tf = _tf.tensorflow()
    n = store.count("train")
    buffer = max(1, min(n, max(MIN_SHUFFLE, SHUFFLE_BYTES // (store.record_bytes * (1 if store.pixels else 4)))))
    scale = scaler(preprocessing)

    def transform(x, y):
        x = tf.cast(x, tf.float32)
        if augmenter is not None:
            x = augmenter(x, training=True)
        return scale(x), y

    data = store.dataset("train").shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat().batch(batch)
    data = data.map(transform)  # one call at a time: seeded augmentation is then reproducible
    return with_sharding(tf, data.prefetch(PREFETCH_BATCHES))


def eval_data(store: Store, split: str, batch: int, preprocessing):
    tf = _tf.tensorflow()
    scale = scaler(preprocessing)
    data = store.dataset(split).batch(batch)
    data = data.map(lambda x, y: (scale(tf.cast(x, tf.float32)), y), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(PREFETCH_BATCHES)


def with_sharding(tf, data):
    """Workers of a multi-worker run take every N-th batch (the data is not split in files)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)
