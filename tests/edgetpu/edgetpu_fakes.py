"""A stand-in for Coral's edgetpu_compiler, written by the tests: FAKE_edgetpu_compiler.

The real compiler is an x86-64 Linux binary from Coral's apt repository that these test
machines cannot install. The fake only reproduces its interface: it takes the compiler's
flags, records its argv, prints a log in the compiler's documented format (texts below are
shaped after real logs quoted in google-coral/edgetpu issues #60, #168, #427, #572, #829),
and, when told to "succeed", writes an output file under the compiler's output name.

That output is a byte copy of the input model: the fake compiles nothing, and a test that
reads it sees a model without any edgetpu-custom-op (edgekit reports that mismatch).
"""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    '''\
    #!{python}
    # FAKE edgetpu_compiler written by edgekit's tests: prints a scripted log, compiles nothing.
    import json, os, shutil, subprocess, sys, time

    scenario = json.load(open({scenario!r}))
    args = sys.argv[1:]
    with open(scenario["argv_file"], "w") as handle:
        json.dump(args, handle)
    out_dir = args[args.index("-o") + 1] if "-o" in args else "."
    segments = int(args[args.index("-n") + 1]) if "-n" in args else 1
    model = args[-1]
    stem = os.path.splitext(os.path.basename(model))[0]
    if segments == 1:
        names = [stem + "_edgetpu"]
    else:
        names = ["%s_segment_%d_of_%d_edgetpu" % (stem, i, segments) for i in range(segments)]
    if scenario.get("grandchild"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(scenario["pid_file"], "w") as handle:
            handle.write(str(child.pid))
    text = scenario["stdout"].replace("{{input}}", model).replace("{{stem}}", stem)
    sys.stdout.write(text.replace("{{output}}", os.path.join(out_dir, names[0] + ".tflite")))
    sys.stdout.flush()
    if scenario.get("write_outputs"):
        for name in names:
            shutil.copyfile(model, os.path.join(out_dir, name + ".tflite"))
            with open(os.path.join(out_dir, name + ".log"), "w") as handle:
                handle.write(scenario.get("log_file_text", ""))
    time.sleep(scenario.get("sleep", 0))
    sys.exit(scenario.get("exit", 0))
    '''
)


def write_fake_compiler(folder: Path, stdout: str, *, exit: int = 0, write_outputs: bool = True,  # noqa: A002
                        sleep: float = 0, grandchild: bool = False, log_file_text: str = "") -> Path:
    """Write FAKE_edgetpu_compiler into `folder`; returns its path. Its argv lands in
    folder/argv.json, a spawned grandchild's pid in folder/grandchild.pid."""
    folder.mkdir(parents=True, exist_ok=True)
    scenario = folder / "scenario.json"
    scenario.write_text(json.dumps({
        "stdout": stdout, "exit": exit, "write_outputs": write_outputs, "sleep": sleep,
        "grandchild": grandchild, "log_file_text": log_file_text,
        "argv_file": str(folder / "argv.json"), "pid_file": str(folder / "grandchild.pid"),
    }))
    path = folder / "FAKE_edgetpu_compiler"
    path.write_text(SCRIPT.format(python=sys.executable, scenario=str(scenario)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def recorded_argv(folder: Path) -> list[str] | None:
    path = folder / "argv.json"
    return json.loads(path.read_text()) if path.exists() else None


def success_log(rows: list[tuple[str, int, str]], *, subgraphs: int = 1, version: str = "16.0.384591198",
                on_chip: str = "12.25KiB", off_chip: str = "0.00B") -> str:
    """A compiler 16 log for one compiled model with the given op table rows."""
    total = sum(count for _, count, _ in rows)
    on_tpu = sum(count for _, count, status in rows if status == "Mapped to Edge TPU")
    lines = [
        f"Edge TPU Compiler version {version}",
        "Started a compilation timeout timer of 180 seconds.",
        "",
        "Model compiled successfully in 41 ms.",
        "",
        "Input model: {input}",
        "Input size: 12.77KiB",
        "Output model: {output}",
        "Output size: 80.52KiB",
        f"On-chip memory used for caching model parameters: {on_chip}",
        "On-chip memory remaining for caching model parameters: 7.30MiB",
        f"Off-chip memory used for streaming uncached model parameters: {off_chip}",
        f"Number of Edge TPU subgraphs: {subgraphs}",
        f"Total number of operations: {total}",
        "Operation log: {stem}_edgetpu.log",
        "",
    ]
    if on_tpu < total:
        lines += [
            "Model successfully compiled but not all operations are supported by the Edge TPU. "
            "A percentage of the model will instead run on the CPU, which is slower. If possible, "
            "consider updating your model to use only operations supported by the Edge TPU. For "
            "details, visit g.co/coral/model-reqs.",
            f"Number of operations that will run on Edge TPU: {on_tpu}",
            f"Number of operations that will run on CPU: {total - on_tpu}",
            "",
        ]
    lines += ["Operator                       Count      Status", ""]
    lines += [f"{op:<31}{count:<11}{status}" for op, count, status in rows]
    lines += ["Compilation child process completed within timeout period.", "Compilation succeeded! ", ""]
    return "\n".join(lines)


NOT_QUANTIZED_LOG = "Edge TPU Compiler version 16.0.384591198\nInvalid model: {input}\nModel not quantized\n"

DYNAMIC_LOG = (
    "Edge TPU Compiler version 16.0.384591198\n"
    "Started a compilation timeout timer of 180 seconds.\n"
    "ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph "
    "that has dynamic-sized tensors.\n"
    "Compilation failed: Model failed in Tflite interpreter. Please ensure model can be "
    "loaded/run in Tflite interpreter.\n"
    "Compilation child process completed within timeout period.\n"
    "Compilation failed! \n"
)
