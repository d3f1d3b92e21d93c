"""`edgekit inspect`: what a .tflite file holds, read from the flatbuffer (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInputError
from ..runtime.tflite_file import check_tflite_bytes, describe, read_manifest_bytes


def read_tflite_file(path: Path) -> bytes:
    """The bytes of a .tflite file, with clear errors for missing, folder and non-TFLite paths."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"file not found: {path}; pass a .tflite file")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder; pass a .tflite file")
    data = path.read_bytes()
    check_tflite_bytes(data, str(path))
    return data


def inspect_tflite(path: str | Path) -> dict:
    """File size, ops, I/O tensors with quantization, integer-only verdict, manifest."""
    path = Path(path)
    data = read_tflite_file(path)
    info = describe(data, str(path)).to_dict()
    info["file"] = str(path)
    info["manifest"] = read_manifest_bytes(data, str(path))
    return info


def _quant(t: dict) -> str:
    if not t["scales"]:
        return "-"
    if len(t["scales"]) == 1:
        return f"scale {t['scales'][0]:.6g}, zero point {t['zero_points'][0]}"
    return f"per-channel ({len(t['scales'])} scales, axis {t['quantized_dimension']})"


def render_inspect(info: dict, show_tensors: bool = False) -> list:
    """Rich renderables for a terminal: summary, I/O table, op histogram, manifest summary."""
    from rich.table import Table

    out = []
    summary = Table(title=info["file"], show_header=False)
    summary.add_column("key")
    summary.add_column("value")
    summary.add_row("size", f"{info['size_bytes']:,} bytes ({info['param_bytes']:,} in constant tensors)")
    summary.add_row("ops", f"{len(info['ops'])} in subgraph 0 ({info['subgraph_count']} subgraph(s))")
    summary.add_row("fully integer", "yes" if info["fully_integer"] else f"no (float ops: {', '.join(sorted(set(info['float_ops']))) or '-'})")
    summary.add_row("dynamic shapes", "yes" if info["dynamic_shapes"] else "no")
    summary.add_row("metadata", ", ".join(info["metadata_names"]) or "-")
    out.append(summary)

    io = Table(title="inputs and outputs")
    for column in ("", "name", "shape", "dtype", "quantization"):
        io.add_column(column)
    for role, tensors in (("input", info["inputs"]), ("output", info["outputs"])):
        for t in tensors:
            io.add_row(role, t["name"], "x".join(map(str, t["shape"])), t["dtype"], _quant(t))
    out.append(io)

    ops = Table(title="op histogram")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    for name, count in sorted(info["op_histogram"].items(), key=lambda kv: (-kv[1], kv[0])):
        ops.add_row(name, str(count))
    out.append(ops)

    if show_tensors:
        table = Table(title="tensors")
        for column in ("#", "name", "shape", "dtype", "const", "quantization"):
            table.add_column(column)
        for t in info["tensors"]:
            table.add_row(str(t["index"]), t["name"], "x".join(map(str, t["shape"])), t["dtype"],
                          "yes" if t["is_constant"] else "", _quant(t))
        out.append(table)

    manifest = info.get("manifest")
    if manifest:
        m = Table(title="edgekit manifest", show_header=False)
        m.add_column("key")
        m.add_column("value")
        src = manifest.get("source", {})
        recipe = manifest.get("recipe", {})
        v = manifest.get("verification", {}) or {}
        m.add_row("source", f"{src.get('file')} (sha256 {str(src.get('sha256'))[:12]}...)")
        m.add_row("recipe", f"{recipe.get('name')} (I/O {recipe.get('io')})")
        m.add_row("created", str(manifest.get("created")))
        for key in ("top1_agreement", "accuracy", "accuracy_delta", "max_abs_error", "snr_db"):
            if v.get(key) is not None:
                m.add_row(key, str(round(v[key], 6)) if isinstance(v[key], float) else str(v[key]))
        if manifest.get("labels"):
            m.add_row("labels", f"{len(manifest['labels'])}: {', '.join(manifest['labels'][:5])}...")
        out.append(m)
    return out
