"""Terminal views of a training result (`edgekit train`): history, test metrics, confusion
matrix, files. Takes a typed `edgekit.train.TrainResult`; returns what to print."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .format import fmt_bytes, fmt_pct

MAX_MATRIX_CLASSES = 20
MAX_HISTORY_ROWS = 40


def _table(title: str, columns: list[str], left: int = 1) -> Table:
    table = Table(title=title)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right")
    return table


def render_train(result) -> list:
    """History, test metrics, confusion matrix, split, files written, and the export."""
    out: list = [history_table(result)]
    if result.test is not None:
        out += [class_table(result)]
        if len(result.data.class_names) <= MAX_MATRIX_CLASSES:
            out.append(confusion_table(result))
    out.append(summary_line(result))
    if result.model is not None:
        out.append(f"wrote {escape(result.model.path)} ({fmt_bytes(result.model.size_bytes)}), "
                   f"{escape(_name(result.record_path))} and {escape(_name(result.report_path))}")
    if result.export is not None:
        from .console import render_convert

        out += render_convert(result.export, _name(result.model.path))
    return out


def notes(result) -> list[str]:
    lines = [f"[yellow]note:[/yellow] {escape(n)}" for n in result.notes]
    if result.export is not None:
        lines += [f"[yellow]note:[/yellow] {escape(n)}" for n in result.export.notes]
    return lines


def _name(path) -> str:
    return str(path).rsplit("/", 1)[-1] if path else "-"


def history_table(result) -> Table:
    a = result.architecture
    shape = "x".join(str(d) for d in a.input_shape[1:])
    title = (f"{a.name}{f' (alpha {a.alpha:g})' if a.alpha else ''}, {shape} input, {a.params:,} parameters, "
             f"weights {a.weights}")
    table = _table(title, ["phase", "epoch", "loss", "accuracy", "val loss", "val acc", "img/s", "s"], left=2)
    rows = result.history[-MAX_HISTORY_ROWS:]
    best = result.best
    for r in rows:
        mark = best is not None and (r.phase, r.epoch) == (best.phase, best.epoch)
        val = "-" if r.val_loss is None else f"{r.val_loss:.4f}"
        cells = [r.phase, f"{r.epoch}/{r.epochs}", f"{r.loss:.4f}", fmt_pct(r.accuracy), val,
                 fmt_pct(r.val_accuracy), f"{r.images_per_s:.0f}", f"{r.seconds:.1f}"]
        table.add_row(*[f"[bold]{c}[/bold]" if mark else c for c in cells])
    return table


def class_table(result) -> Table:
    t = result.test
    table = _table(f"test split: accuracy {fmt_pct(t.accuracy)} on {t.samples} samples (loss {t.loss:.4f})",
                   ["class", "precision", "recall", "F1", "support"])
    for c in t.per_class:
        table.add_row(escape(c.name), fmt_pct(c.precision), fmt_pct(c.recall),
                      "-" if c.f1 is None else f"{c.f1:.3f}", str(c.support))
    return table


def confusion_table(result) -> Table:
    names = result.data.class_names
    table = _table("confusion matrix (rows: true class, columns: predicted)", ["true"] + [escape(n) for n in names])
    for i, (name, row) in enumerate(zip(names, result.test.confusion)):
        cells = [f"[green]{v}[/green]" if i == j else (f"[red]{v}[/red]" if v else "[dim]0[/dim]")
                 for j, v in enumerate(row)]
        table.add_row(escape(name), *cells)
    return table


def summary_line(result) -> str:
    d, s = result.data, result.split
    parts = [f"{sum(d.counts['train'])} train / {sum(d.counts['val'])} validation / {sum(d.counts['test'])} test "
             f"(seed {s.seed})"]
    if result.best is not None:
        parts.append(f"best: {result.best.phase} epoch {result.best.epoch}")
    if result.stopped_early:
        parts.append("stopped early on the validation loss")
    if result.interrupted:
        parts.append("[yellow]interrupted (Ctrl-C)[/yellow]")
    parts.append(f"{result.seconds:.1f} s")
    return "; ".join(parts)
