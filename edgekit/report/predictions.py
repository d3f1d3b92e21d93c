"""Predictions shown and drawn: terminal tables for `edgekit predict`, and annotated copies of
the images (boxes and labels, class masks, the top class) drawn with Pillow.

    from edgekit.report.predictions import annotate
    annotate("street.jpg", model.detect("street.jpg")).save("street-boxes.png")
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from rich.markup import escape
from rich.table import Table

from .._files import check_folder
from ..errors import BadInputError
from .format import fmt_ms

# 20 distinct colours (Ultralytics' palette); class id i gets PALETTE[i % 20].
PALETTE = tuple(
    tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    for h in ("FF3838", "FF9D97", "FF701F", "FFB21D", "CFD231", "48F90A", "92CC17", "3DDB86", "1A9334", "00D4BB",
              "2C99A8", "00C2FF", "344593", "6473FF", "0018EC", "8438FF", "520085", "CB38FF", "FF95C8", "FF37C7")
)
MASK_ALPHA = 0.45


def colour(class_id: int) -> tuple[int, int, int]:
    return PALETTE[class_id % len(PALETTE)]


# ---------------------------------------------------------------------------------------
# Terminal


def _title(result) -> str:
    task = result.task + (f" ({result.layout})" if result.layout else "")
    where = result.backend + (f" + {result.delegate}" if result.delegate else "")
    return f"{escape(Path(result.model).name)}: {task} on {len(result.items)} image(s), {where}"


def _image_cell(item) -> str:
    r = item.result
    return f"{escape(item.path.name)} ({r.image_width}x{r.image_height})"


def _classify_table(result) -> Table:
    table = Table(title=_title(result))
    for name, justify in (("image", "left"), ("rank", "right"), ("label", "left"), ("score", "right"), ("ms", "right")):
        table.add_column(name, justify=justify)
    for item in result.items:
        for rank, c in enumerate(item.result.classes, 1):
            first = rank == 1
            table.add_row(_image_cell(item) if first else "", str(rank), escape(c.label), f"{c.score:.4f}",
                          fmt_ms(item.latency_ms) if first else "")
    return table


def _detect_table(result) -> Table:
    table = Table(title=_title(result))
    for name in ("image", "label", "score", "x_min", "y_min", "x_max", "y_max", "ms"):
        table.add_column(name, justify="left" if name in ("image", "label") else "right")
    for item in result.items:
        if not len(item.result):
            table.add_row(_image_cell(item), "[dim](none)[/dim]", "", "", "", "", "", fmt_ms(item.latency_ms))
        for i, d in enumerate(item.result):
            table.add_row(_image_cell(item) if i == 0 else "", escape(d.label), f"{d.score:.3f}",
                          *(f"{v:.1f}" for v in d.box), fmt_ms(item.latency_ms) if i == 0 else "")
    return table


def _segment_table(result) -> Table:
    table = Table(title=_title(result))
    for name in ("image", "class", "label", "pixels", "share", "ms"):
        table.add_column(name, justify="left" if name in ("image", "label") else "right")
    for item in result.items:
        r = item.result
        for i, (class_id, count) in enumerate(sorted(r.pixel_counts().items(), key=lambda kv: -kv[1])):
            table.add_row(_image_cell(item) if i == 0 else "", str(class_id), escape(r.label(class_id)),
                          f"{count:,}", f"{count / r.mask.size:.1%}", fmt_ms(item.latency_ms) if i == 0 else "")
    return table


def render_predictions(result) -> list:
    """A table of a PredictResult: top-k classes, detections or mask statistics per image."""
    table = {"classify": _classify_table, "detect": _detect_table, "segment": _segment_table}[result.task](result)
    out: list = [table]
    converted = result.converted()
    if converted:
        shown = ", ".join(f"{item.path.name} ({item.mode})" for item in converted[:5])
        more = f" and {len(converted) - 5} more" if len(converted) > 5 else ""
        out.append(f"[dim]note: converted to {result.color} for the model (alpha dropped): "
                   f"{escape(shown)}{more}[/dim]")
    return out


# ---------------------------------------------------------------------------------------
# Drawing


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def _label(draw, xy, text: str, fill, font) -> None:
    left, top, right, bottom = draw.textbbox(xy, text, font=font)
    draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=fill)
    draw.text(xy, text, fill=(255, 255, 255), font=font)


def _draw_detections(image, result) -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    width = max(1, round(max(image.size) / 300))
    font = _font(max(10, round(max(image.size) / 45)))
    for d in result:
        fill = colour(d.class_id)
        draw.rectangle(d.box, outline=fill, width=width)
        text = f"{d.label} {d.score:.2f}"
        height = draw.textbbox((0, 0), text, font=font)[3]
        _label(draw, (d.x_min + width, max(0, d.y_min - height - 2)), text, fill, font)


def _draw_mask(image, result):
    from PIL import Image, ImageDraw

    colours = np.array([colour(i) for i in range(len(result.labels))], dtype=np.uint8)
    overlay = Image.fromarray(colours[result.mask], "RGB")
    blended = Image.blend(image, overlay, MASK_ALPHA)
    draw, font = ImageDraw.Draw(blended), _font(max(10, round(max(image.size) / 45)))
    y = 2
    for class_id in result.pixel_counts():
        _label(draw, (2, y), result.label(class_id), colour(class_id), font)
        y = draw.textbbox((2, y), "Ag", font=font)[3] + 4
    return blended


def annotate(image, result):
    """A copy of `image` (a path, PIL image or uint8 array, as given to the model) in RGB with
    `result` drawn on it: boxes and labels, a class mask with a legend, or the top class."""
    from ..runtime.imaging import convert_mode, open_image
    from ..runtime.segment import SegmentationResult
    from ..runtime.vision import Classification

    opened, _ = open_image(image)
    canvas = convert_mode(opened, "RGB", "the image").copy()
    if isinstance(result, SegmentationResult):
        return _draw_mask(canvas, result)
    if isinstance(result, Classification):
        from PIL import ImageDraw

        draw, top = ImageDraw.Draw(canvas), result.top
        _label(draw, (2, 2), f"{top.label} {top.score:.2f}", colour(top.class_id), _font(max(10, round(max(canvas.size) / 30))))
        return canvas
    _draw_detections(canvas, result)
    return canvas


# ---------------------------------------------------------------------------------------
# --save


def check_save_folder(folder) -> None:
    """Refuse, before any work, a `save` folder that is not a folder or cannot be written."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise BadInputError(f"`save` {folder}: {existing} is not a folder; give a folder for the annotated images")
    try:
        check_folder(existing)
    except BadInputError as exc:
        raise BadInputError(f"`save` {folder}: {exc}") from exc


def _save_names(paths) -> list[str]:
    names, seen = [], set()
    for path in paths:
        name, n = path.name, 1
        while name.lower() in seen:
            n += 1
            name = f"{path.stem}_{n}{path.suffix}"
        seen.add(name.lower())
        names.append(name)
    return names


def _format(name: str) -> str:
    """The Pillow format that writes `name`'s extension, or a BadInputError."""
    from PIL import Image

    extension = Path(name).suffix.lower()
    found = Image.registered_extensions().get(extension)
    if found is None or found not in Image.SAVE:
        raise BadInputError(f"cannot write {name}: this Pillow saves no {extension} files")
    return found


def write_annotated(result, folder, force: bool = False) -> list[Path]:
    """Annotated copies of every image of a PredictResult in `folder` (created if missing),
    named as the inputs (a repeated name gets _2, _3...), each written atomically. Every
    check (folder, names, existing files unless `force`, formats) comes before the first write."""
    from .._files import atomic_write_bytes, check_outputs

    folder = Path(folder)
    check_save_folder(folder)
    paths = [folder / name for name in _save_names([item.path for item in result.items])]
    if folder.is_dir():
        check_outputs(paths, force, inputs=[item.path for item in result.items])
    formats = [_format(path.name) for path in paths]
    folder.mkdir(parents=True, exist_ok=True)
    for item, path, kind in zip(result.items, paths, formats):
        buffer = io.BytesIO()
        annotate(item.path, item.result).save(buffer, format=kind)
        atomic_write_bytes(path, buffer.getvalue())
    return paths
