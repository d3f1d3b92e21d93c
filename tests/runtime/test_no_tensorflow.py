"""edgekit.runtime works in a process where TensorFlow, Keras and tfmot cannot be imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from runtime_fixtures import fixture_path

REPO = Path(__file__).resolve().parents[2]
BLOCKED = ("tensorflow", "keras", "tf_keras", "tensorflow_model_optimization")

SCRIPT = textwrap.dedent(
    """
    import json, sys

    BLOCKED = {blocked!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())

    import numpy as np
    import edgekit.runtime as runtime

    model = runtime.load({path!r})
    out = model.predict(np.zeros((2, 8, 8, 3), np.float32))
    info = runtime.describe(open({path!r}, "rb").read())
    print(json.dumps({{
        "shape": list(out.shape),
        "dtype": str(out.dtype),
        "backend": model.backend,
        "ops": info.op_histogram,
        "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
    }}))
    """
)


def test_runtime_without_tensorflow():
    script = SCRIPT.format(blocked=BLOCKED, path=str(fixture_path("int8")))
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [2, 3] and report["dtype"] == "float32"
    assert report["backend"] == "litert"
    assert report["ops"]["CONV_2D"] == 1
    assert report["loaded"] == []


def test_import_is_cheap():
    """`import edgekit.runtime` pulls in no interpreter and no Pillow until they are used."""
    code = (
        "import sys, edgekit.runtime; "
        "print(sorted(m for m in ('ai_edge_litert', 'tflite_runtime', 'PIL', 'tensorflow') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_any_interpreter_the_errors_name_the_package():
    script = textwrap.dedent(
        """
        import sys
        BLOCKED = {"tensorflow", "ai_edge_litert", "tflite_runtime"}

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"{name} is blocked in this test")
                return None

        sys.meta_path.insert(0, Blocker())
        from edgekit import runtime
        from edgekit.errors import MissingDependencyError
        data = open(sys.argv[1], "rb").read()
        for call in (lambda: runtime.describe(data), lambda: runtime.load(sys.argv[1])):
            try:
                call()
            except MissingDependencyError as exc:
                print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(fixture_path("float32"))],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    describe_error, load_error = result.stdout.strip().splitlines()
    assert "pip install ai-edge-litert" in describe_error
    assert "no TFLite interpreter is available" in load_error
    assert "pip install ai-edge-litert" in load_error
