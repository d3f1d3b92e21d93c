"""The one place that knows which TFLite interpreter is installed, and the Edge TPU delegate.

Backends, in the order "auto" tries them:

    litert          ai_edge_litert.interpreter.Interpreter   (pip install ai-edge-litert)
    tflite-runtime  tflite_runtime.interpreter.Interpreter   (pip install tflite-runtime; numpy<2)
    tf              tensorflow.lite.Interpreter               (pip install tensorflow; deprecated)

Models are always loaded from bytes (`model_content`): loading from a path skips the
flatbuffer verifier, and a malformed file can then crash the process instead of raising.
"""

from __future__ import annotations

import ctypes  # noqa: F401 - the Edge TPU library is opened through it (edgetpu.py)

from ..errors import BadInputError, MissingDependencyError, UsageError, one_line

BACKENDS = ("litert", "tflite-runtime", "tf")
DELEGATES = ("edgetpu",)
_INSTALL = {
    "litert": "pip install ai-edge-litert",
    "tflite-runtime": 'pip install tflite-runtime "numpy<2"',
    "tf": "pip install tensorflow",
}


class _BackendUnavailable(Exception):
    """A backend could not be imported; the message says why and what to install."""


def _import_litert():
    try:
        from ai_edge_litert.interpreter import Interpreter, load_delegate
    except ImportError as exc:
        raise _BackendUnavailable(f"ai-edge-litert is not installed ({exc})") from exc
    return Interpreter, load_delegate


def _import_tflite_runtime():
    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate
    except ModuleNotFoundError as exc:
        raise _BackendUnavailable(f"tflite-runtime is not installed ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - a numpy-1 build under numpy 2 fails oddly
        import numpy

        raise _BackendUnavailable(
            f"tflite-runtime is installed but fails to import ({type(exc).__name__}: "
            f"{one_line(str(exc))}); its wheels are built for numpy<2 and numpy "
            f"{numpy.__version__} is installed"
        ) from exc
    return Interpreter, load_delegate


def _import_tf():
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise _BackendUnavailable(f"tensorflow is not installed ({exc})") from exc
    return tf.lite.Interpreter, tf.lite.experimental.load_delegate


_IMPORTERS = {"litert": _import_litert, "tflite-runtime": _import_tflite_runtime, "tf": _import_tf}


def _resolve_backend(backend: str):
    """(name, Interpreter class, load_delegate) for a backend name or "auto"."""
    if backend not in ("auto",) + BACKENDS:
        raise UsageError(
            f"unknown interpreter backend {backend!r}; use one of: auto, {', '.join(BACKENDS)}"
        )
    if backend != "auto":
        try:
            return (backend, *_IMPORTERS[backend]())
        except _BackendUnavailable as exc:
            raise MissingDependencyError(
                f"the {backend} backend is unavailable: {exc}; install it with: "
                f"{_INSTALL[backend]}"
            ) from exc
    reasons = []
    for name in BACKENDS:
        try:
            return (name, *_IMPORTERS[name]())
        except _BackendUnavailable as exc:
            reasons.append(str(exc))
    raise MissingDependencyError(
        f"no TFLite interpreter is available ({'; '.join(reasons)}); install one with: "
        f"{_INSTALL['litert']}"
    )


def import_backend(backend: str = "auto") -> str:
    """Import the interpreter backend (its native library) and return its name; a memory
    measurement of one model starts after this, so the library itself is not counted."""
    return _resolve_backend(backend)[0]


def delegated_nodes(interpreter) -> int | None:
    """How many nodes of the execution plan a delegate (XNNPACK, the Edge TPU) took over,
    read from the interpreter after allocation; None when the backend cannot tell."""
    try:
        ops = interpreter._get_ops_details()  # noqa: SLF001 - the interpreters' only node listing
    except Exception:  # noqa: BLE001 - an older or other backend without it
        return None
    return sum(1 for op in ops if op.get("op_name") == "DELEGATE")


MAX_THREADS = 256  # far beyond any board's cores; tens of thousands crash the interpreter


def check_threads(threads) -> None:
    """None (the interpreter's default) or a whole number from 1 to MAX_THREADS."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise UsageError(
            f"`threads` must be a whole number from 1 to {MAX_THREADS} (about the number of CPU cores), "
            f"or None for the interpreter's default; received {threads!r}"
        )


def _load_edgetpu(load_delegate, device: str | None):
    """The Edge TPU delegate, or a DeviceError saying which is missing: the runtime library
    (and how to install it) or a device (and how to attach one)."""
    from .edgetpu import check_device, delegate_error, library_name, load_library

    check_device(device)
    # Open the library first: when it is missing, the interpreters' Delegate objects
    # fail half-built and print an "Exception ignored in __del__" traceback.
    load_library(device)
    options = {"device": device} if device else None
    try:
        return load_delegate(library_name(), options)
    except (ValueError, OSError, RuntimeError) as exc:
        raise delegate_error(device, exc) from exc


def _make_delegates(delegate, device, load_delegate):
    if delegate is None:
        if device is not None:
            raise UsageError(
                f"`device` {device!r} names an Edge TPU but this model runs on the CPU; add `delegate` edgetpu "
                "(or drop `device`)"
            )
        return None
    if delegate not in DELEGATES:
        raise UsageError(
            f"unknown delegate {delegate!r}; use one of: {', '.join(DELEGATES)} "
            "(or none for the CPU)"
        )
    return [_load_edgetpu(load_delegate, device)]


def _without_default_delegates(interpreter_class):
    """The op resolver type that applies no default delegate (XNNPACK): every backend defines
    OpResolverType in the module of its Interpreter class."""
    import sys

    return sys.modules[interpreter_class.__module__].OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


def make_interpreter(
    model_content: bytes,
    backend: str = "auto",
    threads: int | None = None,
    delegate: str | None = None,
    device: str | None = None,
    source: str = "the model",
    inspect_tensors: bool = False,
    xnnpack: bool = True,
):
    """Build and allocate an interpreter for a .tflite given as bytes.

    Returns (interpreter, backend name). `threads` sets num_threads (None: the
    interpreter's default); `delegate="edgetpu"` runs on a Coral Edge TPU, `device`
    picks one ("usb", "usb:0", "pci:0"). `source` names the model in error messages.
    `inspect_tensors` (litert only, for analysis on the host) keeps every intermediate
    tensor readable after invoke and applies no default delegate (XNNPACK would own them).
    `xnnpack=False` applies no default delegate either: the builtin kernels run (to measure
    what XNNPACK buys on a device).
    """
    check_threads(threads)
    name, interpreter_class, load_delegate = _resolve_backend(backend)
    delegates = _make_delegates(delegate, device, load_delegate)
    extra = {}
    if inspect_tensors:
        if name != "litert" or delegate is not None:
            raise UsageError("inspect_tensors needs the litert backend and no delegate")
        from ai_edge_litert.interpreter import OpResolverType

        extra = {"experimental_preserve_all_tensors": True,
                 "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    elif not xnnpack:
        extra = {"experimental_op_resolver_type": _without_default_delegates(interpreter_class)}
    try:
        interpreter = interpreter_class(
            model_content=bytes(model_content),
            num_threads=threads,
            experimental_delegates=delegates,
            **extra,
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        hint = ""
        if "edgetpu-custom-op" in str(exc) and delegate is None:
            hint = "; this is an Edge TPU model: load it with delegate='edgetpu' on a Coral device"
        raise BadInputError(
            f"{source} cannot be loaded by the {name} interpreter: {one_line(str(exc))}{hint}"
        ) from exc
    return interpreter, name
