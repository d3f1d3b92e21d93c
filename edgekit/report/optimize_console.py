"""Terminal view of `edgekit optimize`: every candidate with its numbers and fate, the Pareto
front, the pick and why (or the closest candidate per budget), what was left untried.

A candidate's settings that were skipped (dominated) or left untried share one row per
artifact, so that a 4-core board's 40-odd candidates stay a readable table.
"""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from ..bench.validity import HIGH_SPREAD
from .format import fmt_kib, fmt_ms, fmt_pct

STATUS = {"picked": "[bold green]PICK[/bold green]", "meets": "[green]meets[/green]", "rejected": "[red]rejected[/red]",
          "skipped": "[dim]skipped[/dim]", "untried": "[yellow]untried[/yellow]"}
CV_WARNING = "latency varies a lot"  # the start of edgekit.bench.validity's spread warning


def budget_lines(result) -> list[str]:
    b = result.budgets
    target = result.target
    threads = ",".join(str(t) for t in sorted(target.threads))
    board = (target.system.board or target.system.cpu_model) if target.system is not None else None
    where = f"{target.name}" + (f" ({escape(board)})" if board else "")
    return [f"budgets: {escape('; '.join(b.describe()) or 'none')}; objective: {b.describe_objective()}",
            f"target: {escape(where)}, {target.cores} cores: threads {threads}, XNNPACK "
            f"{'on/off' if target.xnnpack_switchable else 'on'}, backend {escape(target.backend)}"]


def quality_word(result) -> str:
    """'agreement' when that is what the run ranks by (no labels, or only `min_agreement`), else 'accuracy'."""
    b = result.budgets
    if result.reference_accuracy is None or (b.max_drop is None and b.min_agreement is not None):
        return "agreement"
    return "accuracy"


def row_groups(result) -> list[tuple[object, list]]:
    """(candidate, group) in table order: a measured or rejected candidate alone; an
    artifact's skipped or untried settings as one group, where the first of them comes."""
    groups: dict[tuple, list] = {}
    for c in result.candidates:
        if c.status in ("skipped", "untried") and c.threads is not None:
            groups.setdefault((c.artifact, c.status, c.reasons), []).append(c)
    rows, done = [], set()
    for c in result.candidates:
        key = (c.artifact, c.status, c.reasons)
        if key not in groups:
            rows.append((c, [c]))
        elif key not in done:
            done.add(key)
            rows.append((c, groups[key]))
    return rows


def settings_text(group) -> tuple[str, str]:
    """(threads, XNNPACK) cells for one candidate or a group of settings."""
    if group[0].threads is None:
        return "-", "-"
    return (",".join(str(c.threads) for c in group),
            ",".join("tpu" if c.delegate else ("on" if c.xnnpack else "off") for c in group))


def short_result(c) -> str:
    """PICK / meets / which budgets it misses / skipped / untried, and a front mark."""
    if c.status == "rejected":
        text = "[red]x " + ", ".join(m.replace("max_", "").replace("min_", "") for m in c.missed) + "[/red]"
    else:
        text = STATUS.get(c.status, c.status)
    return text + (" [cyan]front[/cyan]" if c.on_front else "")


def candidate_table(result) -> Table:
    word = quality_word(result)
    pct = result.budgets.percentile_name
    title = (f"{escape(result.model)}: {len(result.candidates)} candidates; float {word} "
             f"{fmt_pct(result.reference_accuracy) if word == 'accuracy' else '100%'} on {result.evaluation.samples} "
             f"samples ({result.evaluation.kind}); latency in ms, memory in MiB")
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False, title_justify="left")
    for name, justify in (("candidate", "left"), ("thr", "right"), ("xnn", "left"), ("KiB", "right"),
                          (f"{'acc' if word == 'accuracy' else 'agree'} %", "right"), ("drop", "right"),
                          ("p50", "right"), (pct, "right"), ("MiB", "right"), ("result", "left")):
        table.add_column(name, justify=justify, overflow="fold", min_width=12 if name == "candidate" else None)
    for c, group in row_groups(result):
        if len(group) > 1 or c.status in ("skipped", "untried"):
            continue  # listed under the table (`detail_lines`)
        threads, xnnpack = settings_text(group)
        quality = c.accuracy if word == "accuracy" else c.top1_agreement
        table.add_row(escape(c.label), threads, xnnpack, fmt_kib(c.size_bytes),
                      "-" if quality is None else f"{100 * quality:.2f}", _drop(c), fmt_ms(c.p50_ms),
                      fmt_ms(c.latency_ms), "-" if c.memory_mib is None else f"{c.memory_mib:.1f}", short_result(c))
    return table


def _drop(c) -> str:
    return "-" if c.drop_pt is None else f"{c.drop_pt:.2f}"


def detail_lines(result) -> list[str]:
    """Why candidates were rejected before timing, skipped or left untried, one line each kind."""
    lines = []
    early = [c for c in result.candidates if c.status == "rejected" and not c.timed]
    if early:
        lines.append("never timed (they miss a budget known before timing): "
                     + escape("; ".join(f"{c.label}: {', '.join(c.reasons)}" for c in early)))
    for c, group in row_groups(result):
        if c.status in ("skipped", "untried"):
            settings = " / ".join(g.setting() for g in group if g.threads is not None)
            lines.append(f"{c.status}: {escape(c.label)}" + (f" at {escape(settings)}" if settings else "")
                         + f": {escape('; '.join(c.reasons))}")
    return lines


def outcome_lines(result) -> list[str]:
    """The front, the pick (or the closest per budget), files, what was left, the times."""
    lines = []
    if result.front:
        labels = [result.candidate(i).describe() for i in result.front]
        lines.append(f"Pareto front (accuracy, size, {result.budgets.percentile_name} latency): {escape('; '.join(labels))}")
    if result.pick is not None:
        lines.append(f"[bold green]pick:[/bold green] {escape(result.reason)}")
    else:
        lines.append(f"[bold red]no candidate meets every budget[/bold red] ({escape('; '.join(result.budgets.describe()))})")
        for closest in result.closest:
            lines.append(f"  {escape(closest.describe(result.candidate(closest.candidate).describe()))}")
    lines += [f"wrote {escape(path)}" for path in result.written]
    written = result.written_candidate
    if written is not None:
        extra = ", delegate='edgetpu'" if written.delegate else ("" if written.xnnpack is not False else ", xnnpack=False")
        lines.append(f"run it with: edgekit.runtime.load(PATH, threads={written.threads}{extra})")
    if result.untried:
        lines.append(f"[yellow]left untried (time budget):[/yellow] {escape(', '.join(c.describe() for c in result.untried))}")
    t = result.times
    lines.append(f"{len(result.skipped)} candidate(s) skipped by early stopping; {t.total_s:.1f} s in all: conversions "
                 f"{t.convert_s:.1f} s, measurements {t.measure_s:.1f} s, search {t.overhead_s:.1f} s")
    return lines


def warning_lines(result) -> list[str]:
    """Notes, then warnings; the per-run 'latency varies a lot' ones become one line."""
    lines = [f"[yellow]note:[/yellow] {escape(n)}" for n in result.notes]
    noisy = [w for w in result.warnings if CV_WARNING in w]
    lines += [f"[yellow]warning:[/yellow] {escape(w)}" for w in result.warnings if CV_WARNING not in w]
    if noisy:
        lines.append(f"[yellow]warning:[/yellow] latency varied a lot in {len(noisy)} run(s): (p75-p25)/p50 above "
                     f"{100 * HIGH_SPREAD:.0f}% (a busy machine); compare close candidates with more runs or a "
                     "longer minimum time")
    return lines


def render_optimize(result) -> list:
    return [*budget_lines(result), candidate_table(result), *detail_lines(result), *outcome_lines(result),
            *warning_lines(result)]
