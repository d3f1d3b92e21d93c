"""How `edgekit --help` reads, and how a command-line mistake is reported.

typer 0.29 prints `<bool>` after every flag, `{model}` in usage lines and `<list[Path]>` after
arguments; edgekit's help shows flags bare, arguments by their metavar (MODEL.tflite...) and
choices as `auto|litert|...`. The three overrides below change only how typer *displays*
parameters in help, for this CLI process (imported by edgekit.cli.app).

Parse errors (an unknown option, a value that is not a number) become one line, like every
other edgekit error: `error: ... (see: edgekit bench --help)`, exit 2.
"""

from __future__ import annotations

import sys

import typer
import typer.core

try:  # typer >= 0.24 carries its own copy of click; its exceptions are those classes
    from typer._click import exceptions as click  # noqa: PLC2701
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click

from ..errors import one_line

_option_type = typer.core.TyperOption.display_type_rich


def _option_display(self, ctx):
    """Flags take no value: no `<bool>`."""
    return None if self.is_flag else _option_type(self, ctx)


def _argument_display(self, ctx):
    """An argument is shown by its metavar (MODEL.tflite); no type in brackets."""
    return None


def _argument_usage(self) -> str:
    name = self.metavar or self.name.upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 and not name.endswith("...") else "")


typer.core.TyperOption.display_type_rich = _option_display
typer.core.TyperArgument.display_type_rich = _argument_display
typer.core.TyperArgument._usage_display_name = _argument_usage  # noqa: SLF001 - the usage line's name


# Option panels, the same names in every command's help.
RECIPES = "Recipes"
DATA = "Data"
PREPROCESSING = "Image preprocessing"
QAT = "Quantization-aware training (--qat)"
BOUNDS = "Accuracy bounds"
EDGETPU = "Coral Edge TPU"
MODEL = "Loading the model"
OUTPUT = "Output"
MEASURE = "What to measure"
TIMING = "Timing"
RUNTIME = "Interpreter"
DEVICES = "Devices over SSH"
TASK = "What to predict"
BUDGETS = "Budgets"
SEARCH = "What to try"
COMPILER = "Compiler"


def run(app) -> int:
    """Run the typer app; a parse error is one line and exit 2; returns the exit code."""
    try:
        code = app(standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help())
        return 0
    except click.UsageError as exc:
        where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        message = one_line(exc.format_message()).replace("Value error, ", "")  # typer's Literal check
        sys.stderr.write(f"error: {message}{where}\n")
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        return 130
    except SystemExit as exc:  # rich ends help output this way when the pipe closes (| head)
        return exc.code if isinstance(exc.code, int) else 1
    return code if isinstance(code, int) else 0
