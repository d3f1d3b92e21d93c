"""Helpers for the training tests: digit PNG folders, small image folders, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_digit_pngs(root: Path, scale: int = 1, limit: int | None = None, mode: str = "L") -> Path:
    """scikit-learn's digits as PNGs in ROOT/<digit>/NNNN.png (upscaled `scale` times)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, targets = digits.images, digits.target
    if limit is not None:
        images, targets = images[:limit], targets[:limit]
    for i, (image, target) in enumerate(zip(images, targets)):
        folder = root / str(int(target))
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (image * 255 / 16).astype(np.uint8)
        if scale > 1:
            pixels = np.kron(pixels, np.ones((scale, scale), np.uint8))
        Image.fromarray(pixels, "L").convert(mode).save(folder / f"{i:04d}.png")
    return root


def small_folder(root: Path, classes=("a", "b"), per_class: int = 6, size: int = 8, modes=("L",)) -> Path:
    """A tiny class folder: each class a distinct brightness, modes cycled over the images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            level = 40 + 160 * c
            pixels = np.clip(rng.normal(level, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").convert(modes[i % len(modes)]).save(folder / f"{i}.png")
    return root
