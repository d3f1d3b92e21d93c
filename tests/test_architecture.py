"""The shape of the package, checked: small functions, arrows that point one way, no private
names across modules, device-side packages free of the converter, one flag table."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from edgekit_testing import FIXTURES, REPO, run_cli

PACKAGE = REPO / "edgekit"
MAX_BODY_LINES = 60


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _body_lines(node) -> int:
    """Lines of a function's body, the signature and the docstring not counted."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return 0
    return body[-1].end_lineno - body[0].lineno + 1


def test_no_function_body_is_longer_than_60_lines():
    long = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_lines(node) > MAX_BODY_LINES:
                long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({_body_lines(node)} lines)")
    assert not long, long


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(dotted: str) -> bool:
    path = REPO.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_private_name_is_imported_from_another_module():
    found = []
    for path, tree in _modules():
        module = _module_name(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, node, path.name == "__init__.py")
                for alias in node.names:
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    if private and source.startswith("edgekit") and not _is_module(f"{source}.{alias.name}"):
                        found.append(f"{module} imports {alias.name} from {source}")
    assert not found, found


def _imports_of(path: Path, tree) -> set[str]:
    module, names = _module_name(path), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, node, path.name == "__init__.py")
            names.add(source)
            names.update(f"{source}.{a.name}" for a in node.names if _is_module(f"{source}.{a.name}"))
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("edgekit")}


def test_temporary_folders_come_from_temp_folder():
    """A folder in $TMPDIR that a SIGKILL leaves behind is swept by the next run only when
    `_files.temp_folder` made it (a known prefix and the pid): no other module makes one."""
    direct = []
    for path, tree in _modules():
        if path.name == "_files.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("TemporaryDirectory", "mkdtemp") \
                    and not any(k.arg == "dir" for k in node.keywords):
                direct.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert direct == []


def test_runtime_modules_form_no_import_cycle():
    graph = {_module_name(p): _imports_of(p, t) for p, t in _modules() if _module_name(p).startswith("edgekit.runtime")}

    def visit(node, trail):
        for target in graph.get(node, ()):
            if target == trail[0]:
                raise AssertionError(" -> ".join(trail + [target]))
            if target in graph and target not in trail:
                visit(target, trail + [target])

    for name in graph:
        if name != "edgekit.runtime":  # the package imports its modules; they must not import back in a loop
            visit(name, [name])


BLOCKED = ("tensorflow", "keras", "tf_keras", "tensorflow_model_optimization", "edgekit.models", "edgekit.convert",
           "edgekit.quantize")
DEVICE_SIDE = textwrap_script = """
import sys, importlib.abc, json
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Block())
import numpy as np
import edgekit.runtime, edgekit.bench, edgekit.bench.remote, edgekit.artifact, edgekit.data
from edgekit.bench import TimingConfig, load_bench_data, read_saved_reference, run_benchmark, save_reference, tflite_reference
fixtures = {fixtures!r}
data = load_bench_data(sys.argv[1], fixtures + "/int8.tflite")
ref = tflite_reference(fixtures + "/float32.tflite", data.x)
save_reference(sys.argv[2], ref, data.x)
result = run_benchmark([fixtures + "/float32.tflite", fixtures + "/int8.tflite"], data=data,
                       reference=read_saved_reference(sys.argv[2], data.x),
                       timing=TimingConfig(runs=5, min_time=0, warmup=1, warmup_time=0))
print(json.dumps({{"schema": result.schema, "accuracy": result.reference.accuracy,
                  "loaded": sorted(m for m in sys.modules if m.startswith(("tensorflow", "keras", "edgekit.models")))}}))
"""


def test_bench_and_runtime_run_with_the_converter_blocked(tmp_path):
    import numpy as np

    expected = np.load(FIXTURES / "expected.npz")
    np.savez(tmp_path / "eval.npz", x=expected["images"], y=expected["float32_tflite"].argmax(1))
    script = DEVICE_SIDE.format(blocked=BLOCKED, fixtures=str(FIXTURES))
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "eval.npz"), str(tmp_path / "ref.npz")],
                         capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"schema": "edgekit.bench/2", "accuracy": 1.0, "loaded": []}


def test_bench_and_runtime_sources_never_import_models_or_converters():
    offenders = []
    for path, tree in _modules():
        module = _module_name(path)
        if module.startswith(("edgekit.runtime", "edgekit.bench", "edgekit.artifact")):
            bad = [m for m in _imports_of(path, tree) if m.startswith(("edgekit.models", "edgekit.convert",
                                                                      "edgekit.quantize", "edgekit.devices"))]
            bad += [m for m in (a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names)
                    if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
            offenders += [f"{module} imports {m}" for m in bad]
    # the one sanctioned exception: the "tf" interpreter backend imports tensorflow when asked for
    assert offenders == ["edgekit.runtime.interpreter imports tensorflow"], offenders


def test_usage_errors_come_before_tensorflow_is_imported(tmp_path):
    """A missing --calib, a missing model or data file: said at once, TensorFlow never loaded."""
    (tmp_path / "m.keras").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip: a 'model' to check
    script = (
        "import sys\nfrom edgekit.convert import convert\nfrom edgekit.quantize import Recipe\n"
        "from edgekit.errors import EdgekitError\n"
        "cases = [dict(model=sys.argv[1], recipes=[Recipe('int8')]),\n"
        "         dict(model=sys.argv[1] + 'x', recipes=[Recipe('float32')]),\n"
        "         dict(model=sys.argv[1], recipes=[Recipe('int8')], calib='missing.npz'),\n"
        "         dict(model=sys.argv[1], recipes=[Recipe('float16')], best_effort=True)]\n"
        "for case in cases:\n"
        "    try:\n        convert(**case)\n    except EdgekitError as exc:\n        print(exc.exit_code, exc.message)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.keras")], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "False False", out.stdout + out.stderr
    assert lines[0].startswith("2 int8 needs calibration data: pass `calib`")
    assert lines[1].startswith("3 model not found")
    assert lines[2].startswith("3 calibration data not found: missing.npz")
    assert lines[3].startswith("2 `best_effort` applies with `max_drop`")


def _error_texts(tree):
    """String pieces of raised errors and of error objects built to be raised later."""
    for node in ast.walk(tree):
        is_error = isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")).endswith("Error")
        if isinstance(node, ast.Raise) or is_error:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    yield inner.value


def _library_parameters() -> set[str]:
    names = set()
    for path, tree in _modules():
        if path.parent.name != "cli":
            for text in _error_texts(tree):
                names.update(re.findall(r"`([a-z_][a-z0-9_]*)`", text))
    return names


def test_every_parameter_named_in_a_message_has_a_flag_or_is_python_only():
    from edgekit.cli.flags import FLAGS, OVERRIDES, PYTHON_ONLY

    unknown = sorted(_library_parameters() - set(FLAGS) - PYTHON_ONLY)
    assert not unknown, f"add these to edgekit/cli/flags.py: {unknown}"
    from edgekit.cli import app

    options = {opt for cmd in _commands(typer.main.get_command(app)) for p in cmd.params for opt in p.opts}
    for name, flag in list(FLAGS.items()) + [kv for table in OVERRIDES.values() for kv in table.items()]:
        if flag.startswith("-"):
            assert flag in options, (name, flag)


def _commands(group):
    for command in group.commands.values():
        if hasattr(command, "commands"):
            yield from _commands(command)
        else:
            yield command


def test_the_cli_maps_parameters_to_flags():
    from edgekit.cli.flags import to_cli

    assert to_cli("`calib_samples` must be positive; `isolate` too") == "--calib-samples must be positive; isolate too"
    assert to_cli("`segments` 2", "convert") == "--edgetpu-segments 2"
    assert to_cli("`segments` 2", "edgetpu compile") == "--segments 2"


@pytest.mark.parametrize("args, schema", [
    (["inspect", FIXTURES / "int8.tflite", "--json"], "edgekit.inspect/1"),
    (["bench", FIXTURES / "int8.tflite", "--runs", "3", "--min-time", "0", "--json"], "edgekit.bench/2"),
    (["edgetpu", "check", FIXTURES / "int8.tflite", "--json"], "edgekit.edgetpu-check/1"),
    (["devices", "list", "--json"], "edgekit.devices/1"),
])
def test_json_outputs_name_their_schema(args, schema, tmp_path):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == schema
