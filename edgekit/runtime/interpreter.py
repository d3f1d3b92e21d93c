"""The one place that knows which TFLite interpreter is installed, and the Edge TPU delegate.

Backends, in the order "auto" tries them:

    litert          ai_edge_litert.interpreter.Interpreter   (pip install ai-edge-litert)
    tflite-runtime  tflite_runtime.interpreter.Interpreter   (pip install tflite-runtime; numpy<2)
    tf              tensorflow.lite.Interpreter               (pip install tensorflow; deprecated)

Models are always loaded from bytes (`model_content`): loading from a path skips the
flatbuffer verifier, and a malformed file can then crash the process instead of raising.
"""

from __future__ import annotations

import ctypes
import platform

from ..errors import BadInputError, DeviceError, MissingDependencyError, UsageError

BACKENDS = ("litert", "tflite-runtime", "tf")
DELEGATES = ("edgetpu",)
_INSTALL = {
    "litert": "pip install ai-edge-litert",
    "tflite-runtime": 'pip install tflite-runtime "numpy<2"',
    "tf": "pip install tensorflow",
}
_EDGETPU_LIBRARY = {
    "Linux": "libedgetpu.so.1",
    "Darwin": "libedgetpu.1.dylib",
    "Windows": "edgetpu.dll",
}


class _BackendUnavailable(Exception):
    """A backend could not be imported; the message says why and what to install."""


def _import_litert():
    try:
        from ai_edge_litert.interpreter import Interpreter, load_delegate
    except ImportError as exc:
        raise _BackendUnavailable(f"ai-edge-litert is not installed ({exc})") from None
    return Interpreter, load_delegate


def _import_tflite_runtime():
    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate
    except ModuleNotFoundError as exc:
        raise _BackendUnavailable(f"tflite-runtime is not installed ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a numpy-1 build under numpy 2 fails oddly
        import numpy

        raise _BackendUnavailable(
            f"tflite-runtime is installed but fails to import ({type(exc).__name__}: "
            f"{_one_line(str(exc))}); its wheels are built for numpy<2 and numpy "
            f"{numpy.__version__} is installed"
        ) from None
    return Interpreter, load_delegate


def _import_tf():
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise _BackendUnavailable(f"tensorflow is not installed ({exc})") from None
    return tf.lite.Interpreter, tf.lite.experimental.load_delegate


_IMPORTERS = {"litert": _import_litert, "tflite-runtime": _import_tflite_runtime, "tf": _import_tf}


def _one_line(message: str, limit: int = 300) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
            ) from None
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


def _check_threads(threads) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadInputError(
            f"threads must be a positive whole number (or None for the interpreter "
            f"default); received {threads!r}"
        )


def _load_edgetpu(load_delegate, device: str | None):
    """The Edge TPU delegate, or a DeviceError saying what to install / plug in."""
    library = _EDGETPU_LIBRARY.get(platform.system(), "libedgetpu.so.1")
    options = {"device": device} if device else None
    try:
        # Open the library first: when it is missing, the interpreters' Delegate objects
        # fail half-built and print an "Exception ignored in __del__" traceback.
        ctypes.CDLL(library)
        return load_delegate(library, options)
    except (ValueError, OSError, RuntimeError) as exc:
        where = f" {device!r}" if device else ""
        raise DeviceError(
            f"cannot load the Edge TPU delegate ({library}) for device{where}: "
            f"{_one_line(str(exc))}; install the Edge TPU runtime (libedgetpu1-std from "
            "Coral's apt repository, https://coral.ai/docs/accelerator/get-started) and "
            "plug in the device (device names: usb, usb:0, pci:0)"
        ) from None


def _make_delegates(delegate, device, load_delegate):
    if delegate is None:
        if device is not None:
            raise UsageError(
                f"device {device!r} was given without a delegate; add delegate='edgetpu' "
                "or drop the device"
            )
        return None
    if delegate not in DELEGATES:
        raise UsageError(
            f"unknown delegate {delegate!r}; use one of: {', '.join(DELEGATES)} "
            "(or none for the CPU)"
        )
    return [_load_edgetpu(load_delegate, device)]


def make_interpreter(
    model_content: bytes,
    backend: str = "auto",
    threads: int | None = None,
    delegate: str | None = None,
    device: str | None = None,
    source: str = "the model",
    inspect_tensors: bool = False,
):
    """Build and allocate an interpreter for a .tflite given as bytes.

    Returns (interpreter, backend name). `threads` sets num_threads (None: the
    interpreter's default); `delegate="edgetpu"` runs on a Coral Edge TPU, `device`
    picks one ("usb", "usb:0", "pci:0"). `source` names the model in error messages.
    `inspect_tensors` (litert only, for analysis on the host) keeps every intermediate
    tensor readable after invoke and applies no default delegate (XNNPACK would own them).
    """
    _check_threads(threads)
    name, interpreter_class, load_delegate = _resolve_backend(backend)
    delegates = _make_delegates(delegate, device, load_delegate)
    extra = {}
    if inspect_tensors:
        if name != "litert" or delegate is not None:
            raise UsageError("inspect_tensors needs the litert backend and no delegate")
        from ai_edge_litert.interpreter import OpResolverType

        extra = {"experimental_preserve_all_tensors": True,
                 "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
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
            f"{source} cannot be loaded by the {name} interpreter: {_one_line(str(exc))}{hint}"
        ) from None
    return interpreter, name
