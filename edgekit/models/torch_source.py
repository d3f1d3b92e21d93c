"""PyTorch models as conversion sources: a torch.export program (.pt2) -> a float .tflite.

    source = load_torch_source("model.pt2")                 # NCHW image inputs become NHWC
    source = load_torch_source("model.pt2", layout="nchw")  # or keep the model's layout

The program is loaded with `torch.export.load` (a graph and tensors, no pickled code) and
checked where it enters: every input a tensor, passed by position, static sizes (a dynamic
batch becomes `batch`; other dynamic sizes need `input_shape`, in the model's own layout), no
op that runs in training mode. litert-torch converts it to a float .tflite, which LiteRT
Quantizer then quantizes like any float .tflite. Reference outputs come from the PyTorch
program itself, so every artifact, float32 included, is verified against PyTorch.

A pickled whole-model .pt/.pth file is code: it is refused unless `trust_model`, and then
needs `input_shape` to export it.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import sha256_file
from .._native_log import capture_native_stderr
from ..errors import BadInputError, MissingDependencyError, UsageError, one_line
from ..runtime import describe
from .load import parse_shape
from .tflite_source import FloatTfliteSource, check_float, float_tflite_source

FORMAT = "pt2"
PICKLE_SUFFIXES = (".pt", ".pth")
SUFFIXES = (".pt2", *PICKLE_SUFFIXES)
LAYOUTS = ("nhwc", "nchw")
EXTRA = "torch"
MADE_BY = "litert-torch"
_TRAINING_OPS = {"aten.batch_norm.default": 5, "aten.dropout.default": 2, "aten.feature_dropout.default": 2,
                 "aten.alpha_dropout.default": 2}  # op -> position of its `training`/`train` argument


@dataclass
class TorchSource(FloatTfliteSource):
    """A PyTorch program converted to a float .tflite; `layout` is how image inputs are fed."""

    layout: str = "nhwc"
    image_inputs: tuple[int, ...] = ()  # positions of the rank-4 inputs `layout` applies to


def torch_modules():
    """(torch, litert_torch), or a MissingDependencyError with the pip line."""
    try:
        import torch

        with _quiet():  # torchao prints which of its CUDA kernels it could not load
            import litert_torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"converting a PyTorch model needs torch and litert-torch, which are not installed ({exc}); "
            f"install them with: pip install \"edgekit[{EXTRA}]\""
        ) from exc
    return torch, litert_torch


def check_layout(layout: str | None) -> str:
    if layout is None:
        return "nhwc"
    if layout not in LAYOUTS:
        raise UsageError(f"`layout` must be nhwc (image inputs fed channels last, the default) or nchw "
                         f"(the model's own layout); received {layout!r}")
    return layout


def refuse_pickle(path: Path, trust: bool, input_shape: str | None) -> None:
    """A pickled .pt/.pth runs code when loaded: refused unless trusted (then it needs a shape)."""
    if path.suffix.lower() not in PICKLE_SUFFIXES:
        return
    if not trust:
        raise BadInputError(
            f"{path.name} is a pickled PyTorch file: loading it runs whatever code it carries; export the "
            "model instead with torch.export.save(torch.export.export(model.eval(), (example_input,)), "
            "'model.pt2') and convert the .pt2, or pass `trust_model` if you made this file yourself"
        )
    if not input_shape:
        raise UsageError(f"{path.name} is a pickled model, which records no input shape; pass `input_shape` "
                         "in the model's own layout, e.g. 1x3x224x224")


def _load_program(torch, path: Path, trust: bool, input_shape: str | None):
    """(ExportedProgram, kind) from a .pt2, or exported from a trusted pickled nn.Module."""
    try:
        with _quiet():  # torch logs a traceback of its own before raising
            if path.suffix.lower() == ".pt2":
                return torch.export.load(str(path)), "torch.export program"
            module = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - zip, pickle and serialization errors alike
        raise BadInputError(f"cannot load {path.name} with torch: {one_line(f'{type(exc).__name__}: {exc}', 300)}") from exc
    if not isinstance(module, torch.nn.Module):
        raise BadInputError(f"{path.name} holds a {type(module).__name__} (a state_dict?), not a torch.nn.Module; "
                            "build the model, load the weights into it and export it with torch.export")
    args = tuple(torch.zeros(shape) for shape in parse_shape(input_shape))
    try:
        return torch.export.export(module.eval(), args), "pickled nn.Module (trusted)"
    except Exception as exc:  # noqa: BLE001
        raise BadInputError(f"torch.export could not export {path.name}: {one_line(str(exc), 300)}") from exc


def program_inputs(program, name: str) -> list[tuple[str, tuple, str]]:
    """(name, shape with None for dynamic sizes, dtype) of each input; non-tensors refused."""
    in_spec = program.call_spec.in_spec
    children = [] if in_spec is None else list(in_spec.children() if hasattr(in_spec, "children") else in_spec.children_specs)
    keywords = children[1].context if len(children) == 2 else []
    if keywords:
        raise BadInputError(f"{name} takes keyword input(s) {', '.join(map(str, keywords))}; export a program whose "
                            "inputs are tensors passed by position")
    nodes = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    inputs = []
    for spec in program.graph_signature.input_specs:
        if spec.kind.name != "USER_INPUT":
            continue
        value = nodes[spec.arg.name].meta.get("val") if hasattr(spec.arg, "name") and spec.arg.name in nodes else None
        if value is None or not hasattr(value, "shape") or not hasattr(value, "dtype"):
            what = type(getattr(spec.arg, "value", value)).__name__
            raise BadInputError(
                f"{name} has an input ({getattr(spec.arg, 'name', '?')}) that is a {what}, not a tensor; device "
                "models take tensors only: export a wrapper module whose inputs are all tensors"
            )
        shape = tuple(d if isinstance(d, int) else None for d in value.shape)
        inputs.append((spec.arg.name, shape, str(value.dtype).replace("torch.", "")))
    return inputs


def training_ops(program) -> list[str]:
    """Ops that run in training mode (batch norm updating its statistics, active dropout)."""
    found = [str(n.target).split(".")[1] for n in program.graph.nodes if n.op == "call_function"
             and str(n.target) in _TRAINING_OPS and len(n.args) > _TRAINING_OPS[str(n.target)]
             and n.args[_TRAINING_OPS[str(n.target)]] is True]
    return found + [f"update of {b}" for b in program.graph_signature.buffers_to_mutate.values()]


def static_shapes(inputs, name: str, batch: int | None, input_shape: str | None) -> list[tuple[int, ...]]:
    """Static input shapes in the model's layout (a dynamic batch becomes `batch`, 1 by default)."""
    if input_shape:
        shapes = parse_shape(input_shape)
        if len(shapes) != len(inputs) or any(len(s) != len(i[1]) or any(d not in (None, g) for d, g in zip(i[1], s))
                                             for s, i in zip(shapes, inputs)):
            raise UsageError(f"`input_shape` {input_shape} does not fit {name}'s input shape(s) "
                             f"{[list(i[1]) for i in inputs]} (None = dynamic), in the model's own layout")
        return shapes
    for input_name, shape, _ in inputs:
        if None in shape[1:]:
            raise BadInputError(
                f"{name} input '{input_name}' has dynamic shape {list(shape)} (None = any size); device models "
                "need static shapes: pass `input_shape` in the model's own layout, e.g. 1x3x224x224"
            )
    fixed = [shape[0] for _, shape, _ in inputs if shape and shape[0] is not None]
    if batch is not None and any(b != batch for b in fixed):
        raise UsageError(f"`batch` {batch}: {name} was exported with a fixed batch of {fixed[0]}; export it with "
                         "that batch, or with a dynamic batch (torch.export.Dim), or leave `batch` out")
    return [((batch or 1) if shape[0] is None else shape[0], *shape[1:]) for _, shape, _ in inputs]


@contextlib.contextmanager
def _quiet():
    """litert-torch's progress lines, warnings and native logs kept off the terminal (the
    environment switch it reads is restored afterwards)."""
    saved = os.environ.get("LITERT_TORCH_SHOW_PROGRESS")
    os.environ["LITERT_TORCH_SHOW_PROGRESS"] = "n"
    try:
        with capture_native_stderr() as log, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield log
    finally:
        if saved is None:
            os.environ.pop("LITERT_TORCH_SHOW_PROGRESS", None)
        else:
            os.environ["LITERT_TORCH_SHOW_PROGRESS"] = saved


def to_device(shape: tuple, layout: str) -> tuple:
    """An NCHW shape as the device sees it: NHWC with layout nhwc."""
    return (shape[0], *shape[2:], shape[1]) if layout == "nhwc" else tuple(shape)


def convert_program(program, shapes, images: tuple[int, ...], layout: str, name: str) -> bytes:
    """The program as a float .tflite (litert-torch), image inputs channels-last for nhwc."""
    torch, litert_torch = torch_modules()
    module = program.module()
    if layout == "nhwc" and images:
        module = litert_torch.to_channel_last_io(module, args=list(images))
    module.training = False  # the program was traced already; this only silences a mode warning
    sample = tuple(torch.zeros(to_device(s, layout) if i in images else s) for i, s in enumerate(shapes))
    try:
        with _quiet():
            content = litert_torch.convert(module, sample).model_content()
    except Exception as exc:  # noqa: BLE001 - the lowering raises many kinds
        raise BadInputError(f"litert-torch could not convert {name}: {one_line(f'{type(exc).__name__}: {exc}', 300)}") from exc
    return bytes(content)


def _leaves(out) -> list:
    """The tensors of a program's output, in flattening order (tuples, lists, dict values)."""
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _leaves(item)]
    if isinstance(out, dict):
        return [leaf for item in out.values() for leaf in _leaves(item)]
    return [out]


def _torch_predict(torch, program, shapes, images: tuple[int, ...], layout: str):
    """Reference outputs from the PyTorch program, one model batch at a time (its shapes are
    static), device-layout inputs in. The calls run on one intra-op thread (restored after):
    many small calls are dominated by thread hand-offs, 5-50x slower on a busy machine."""
    module, batch = program.module(), shapes[0][0]

    def predict(xs):
        outs, threads = [], torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for start in range(0, len(xs[0]), batch):
                args = [np.transpose(x[start:start + batch], (0, 3, 1, 2)) if i in images and layout == "nhwc"
                        else x[start:start + batch] for i, x in enumerate(xs)]
                with torch.no_grad():
                    out = module(*[torch.from_numpy(np.ascontiguousarray(a)) for a in args])
                outs.append([t.detach().numpy() for t in _leaves(out)])
        finally:
            torch.set_num_threads(threads)
        return [np.concatenate([o[j] for o in outs]) for j in range(len(outs[0]))]

    return predict


def load_torch_source(path: str | Path, *, layout: str | None = None, batch: int | None = None,
                      input_shape: str | None = None, trust: bool = False) -> TorchSource:
    """A .pt2 (or trusted .pt/.pth) as a float .tflite source (see the module docstring)."""
    path, layout = Path(path), check_layout(layout)
    refuse_pickle(path, trust, input_shape)
    torch, _ = torch_modules()
    program, kind = _load_program(torch, path, trust, input_shape)
    inputs = program_inputs(program, path.name)
    training = training_ops(program)
    if training:
        raise BadInputError(f"{path.name} was exported in training mode ({', '.join(sorted(set(training)))}); call "
                            "model.eval() before torch.export.export")
    shapes = static_shapes(inputs, path.name, batch, input_shape)
    images = tuple(i for i, (_, shape, dtype) in enumerate(inputs) if len(shape) == 4 and dtype.startswith("float"))
    started = time.perf_counter()
    content = convert_program(program, shapes, images, layout, path.name)
    seconds = time.perf_counter() - started
    check_float(describe(content, path.name), path.name)
    notes = [f"{path.name}: NCHW image input(s) {', '.join(inputs[i][0] for i in images)} are fed as NHWC "
             "(`layout` nchw keeps the model's layout)"] if images and layout == "nhwc" else []
    return float_tflite_source(content, path, sha256_file(path), kind, notes, MADE_BY, fmt=FORMAT,
                               predict=_torch_predict(torch, program, shapes, images, layout), cls=TorchSource,
                               layout=layout, image_inputs=images, convert_s=seconds)
