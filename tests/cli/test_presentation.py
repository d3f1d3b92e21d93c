"""What a person reads: tables that fit an 80-column SSH session with every number whole,
help that reads like a manual, warnings that say which models they concern, and the small
things a new user trips over."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import typer.main

from edgekit_testing import FIXTURES, assert_clean_error, run_cli

FAST = ["--runs", "30", "--min-time", "0", "--warmup-time", "0"]
NUMBER = re.compile(r"^[+-]?\d[\d,]*(\.\d+)?(%|x)?$")


@pytest.fixture(scope="module")
def five_models(tmp_path_factory):
    """The fixture CNN under five long, similar names (as `edgekit convert --all` names them)."""
    folder = tmp_path_factory.mktemp("five")
    names = []
    for recipe, source in (("float32", "float32"), ("dynamic", "float32"), ("float16", "float32"),
                           ("int8", "int8"), ("int16x8", "uint8")):
        path = folder / f"digits_cnn_long_model_name_{recipe}.tflite"
        shutil.copy(FIXTURES / f"{source}.tflite", path)
        names.append(path)
    return names


def _cells(table_text: str) -> list[list[str]]:
    rows = []
    for line in table_text.splitlines():
        if "│" in line:
            rows.append([c.strip() for c in line.strip().strip("│").split("│")])
    return rows


def test_the_bench_table_at_80_columns_keeps_every_number_whole(five_models, tmp_path):
    result = run_cli("bench", *five_models, *FAST, env_columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "…" not in result.stdout  # nothing cut with an ellipsis
    cells = [c for row in _cells(result.stdout) for c in row[1:] if c and c not in ("-", "REF", "PASS", "FAIL")]
    numeric = [c for c in cells if c[0].isdigit() or c[0] in "+-"]
    assert numeric and all(NUMBER.match(c) for c in numeric), [c for c in numeric if not NUMBER.match(c)]
    # names lose their common prefix and .tflite; the recipe is not repeated in its own column
    assert "float16" in result.stdout and "digits_cnn_long_model_name_" not in result.stdout


def test_warnings_name_their_models_once_and_go_to_stderr(five_models):
    result = run_cli("bench", *five_models, *FAST, env_columns=80)
    assert "warning" not in result.stdout
    for line in result.stderr.splitlines():
        if line.startswith("warning:"):
            assert line.count("latency varies a lot") <= 1


def test_bench_records_the_threads_it_used(five_models):
    from edgekit.runtime.cpu import physical_cores

    data = json.loads(run_cli("bench", five_models[0], *FAST, "--json").stdout)
    model = data["models"][0]
    assert model["threads"] == physical_cores() >= 1 and data["config"]["threads"] is None
    assert model["xnnpack"] is True and model["memory_mib"] > 0
    latency = model["timing"]["latency"]
    assert latency["p25_ms"] <= latency["p50_ms"] <= latency["p75_ms"] and latency["outliers"] >= 0
    assert model["timing"]["ended_by"] in ("runs", "min_time")
    one = json.loads(run_cli("bench", five_models[0], *FAST, "--threads", "1", "--json").stdout)
    assert one["models"][0]["threads"] == 1


@pytest.mark.convert
def test_int16_activations_are_explained(tmp_path):
    """An int16x8 model runs TFLite's reference kernels (no XNNPACK): the result says why it is
    slow, in the JSON and in the table's note."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))).save(
        tmp_path / "d.keras")
    done = run_cli("convert", tmp_path / "d.keras", "--float32", "--int16x8", "--calib", "digits", "-q")
    assert done.returncode == 0, done.stderr
    models = [tmp_path / "d_float32.tflite", tmp_path / "d_int16x8.tflite"]
    data = json.loads(run_cli("bench", *models, *FAST, "--json").stdout)
    float32, int16 = data["models"]
    assert float32["xnnpack"] is True and float32["kernel_note"] is None
    assert int16["xnnpack"] is False and "reference kernels" in int16["kernel_note"]
    assert "reference kernels" in run_cli("bench", *models, *FAST).stdout


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_help_reads_like_a_manual():
    from edgekit.cli import app

    for name, command in _commands(typer.main.get_command(app)):
        assert re.search(r"^\s*edgekit \S", command.help or "", re.M), f"{name}: no example in its help"
        options = [p for p in command.params if p.param_type_name == "option" and p.name != "help"]
        if len(options) > 6:
            panels = {getattr(p, "rich_help_panel", None) for p in options}
            assert len(panels - {None}) >= 2, f"{name}: {len(options)} options in one panel"
    text = run_cli("bench", "--help", env_columns=120).stdout
    assert "<bool>" not in text and "{" not in text.split("\n", 3)[1]
    assert "auto|litert|tflite-runtime|tf" in text
    assert "Timing" in text and "Output" in text


def test_version():
    from edgekit import __version__

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"edgekit {__version__}"


def test_a_parse_error_is_one_line():
    result = run_cli("bench", FIXTURES / "int8.tflite", "--runs", "abc")
    assert_clean_error(result, 2, "--runs", "see:", "--help")
    result = run_cli("bench", "--nope")
    assert_clean_error(result, 2, "No such option: --nope")


def test_devices_list_shows_bracketed_text(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    result = run_cli("devices", "list", cwd=tmp_path)
    assert "[devices.NAME]" in result.stdout


def test_inspect_names_custom_ops_and_warns(tmp_path):
    from edgekit.runtime.tflite_file import _pack, _unpack, flatbuffer_schema

    model = _unpack((FIXTURES / "int8.tflite").read_bytes(), "m")
    schema = flatbuffer_schema()
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "MyFancyOp"
    model.operatorCodes.append(code)
    model.subgraphs[0].operators[-1].opcodeIndex = len(model.operatorCodes) - 1
    path = tmp_path / "custom.tflite"
    path.write_bytes(_pack(model, schema, 8192))
    result = run_cli("inspect", path)
    assert "CUSTOM (MyFancyOp)" in result.stdout and "cannot run it" in result.stdout
    assert json.loads(run_cli("inspect", path, "--json").stdout)["custom_ops"] == ["MyFancyOp"]


def test_edgetpu_check_exits_3_when_it_predicts_a_failed_compile():
    result = run_cli("edgetpu", "check", FIXTURES / "float32.tflite")
    assert_clean_error(result, 3, "predicted to fail", "Model not quantized")
    assert "verdict" in result.stdout  # the check is printed before the error


def test_convert_makes_a_missing_output_folder(tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((4,), name="x")
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "m.keras")
    result = run_cli("convert", tmp_path / "m.keras", "--float32", "-o", tmp_path / "new" / "deeper", "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "deeper" / "m_float32.tflite").is_file()


def test_calibrating_on_builtin_digits_verifies_on_its_test_split(tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 1), name="image")
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))).save(
        tmp_path / "d.keras")
    result = run_cli("convert", tmp_path / "d.keras", "--int8", "--calib", "digits", "--json", "-q")
    assert result.returncode == 0, result.stderr
    evaluation = json.loads(result.stdout)["evaluation"]
    assert evaluation["kind"] == "the test split of the built-in digits set"
    assert evaluation["source"] == "digits-test" and evaluation["samples"] == 450
