"""`edgekit optimize --report`: one self-contained HTML page (no external files or scripts):
the pick and why, the budgets and the target, an accuracy-vs-latency chart (matplotlib, SVG
inlined) with the budgets drawn and the Pareto front joined, and every candidate's numbers.

matplotlib is used through its object API (`Figure`, no pyplot), so no global backend or
style is changed; it is imported only when a page is rendered.
"""

from __future__ import annotations

import html
import io
import math

from ..errors import MissingDependencyError
from .format import fmt_ms, fmt_pct
from .optimize_console import quality_word, row_groups, settings_text, short_result

COLOURS = {"picked": "#d62728", "meets": "#1f77b4", "rejected": "#9a9a9a", "front": "#ff7f0e"}
CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#222}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.box{border-left:5px solid #2a7;background:#f3fbf6;padding:.6rem .9rem;margin:.8rem 0}
.box.fail{border-color:#c33;background:#fdf3f3}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem;margin:.3rem 0}dt{color:#666}dd{margin:0}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:.25rem .45rem;border-bottom:1px solid #e5e5e5;text-align:right;vertical-align:top}
th:first-child,td:first-child,td:last-child,th:last-child{text-align:left}
tr.picked{background:#fff1f0;font-weight:600}tr.front td:first-child:after{content:" \\25C6";color:#ff7f0e}
figure{margin:.5rem 0}figure svg{width:100%;height:auto;max-width:900px}
.muted{color:#666;font-size:13px}
"""


def _require_matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            f"the HTML report's chart needs matplotlib, which is not installed ({exc}); install it with: "
            "pip install matplotlib (or leave out `report`)"
        ) from exc
    return Figure


def _quality(c, use_agreement: bool) -> float | None:
    value = c.top1_agreement if use_agreement else c.accuracy
    return None if value is None else 100 * value


def chart_svg(result) -> str:
    """Accuracy (or agreement) against latency at the budgets' percentile: every timed
    candidate, the front joined, the pick starred, the budgets as dashed lines."""
    Figure = _require_matplotlib()
    use_agreement = quality_word(result) == "agreement"
    timed = [c for c in result.candidates if c.timed and c.latency_ms is not None and _quality(c, use_agreement) is not None]
    fig = Figure(figsize=(8.5, 4.6), dpi=100)
    ax = fig.add_subplot()
    for status in ("rejected", "meets", "picked"):
        group = [c for c in timed if c.status == status]
        if group:
            ax.scatter([c.latency_ms for c in group], [_quality(c, use_agreement) for c in group],
                       s=160 if status == "picked" else 36, marker="*" if status == "picked" else "o",
                       color=COLOURS[status], label=status, zorder=3 if status == "picked" else 2)
    front = sorted((c for c in timed if c.on_front), key=lambda c: c.latency_ms)
    if front:
        ax.plot([c.latency_ms for c in front], [_quality(c, use_agreement) for c in front], color=COLOURS["front"],
                lw=1.5, zorder=1, label="Pareto front")
        for c in front:
            ax.annotate(_short(c), (c.latency_ms, _quality(c, use_agreement)), textcoords="offset points",
                        xytext=(5, 5), fontsize=8)
    if not timed:
        ax.text(0.5, 0.5, "nothing was timed (see the table)", ha="center", va="center", transform=ax.transAxes)
    _budget_lines(ax, result, use_agreement)
    if timed and max(c.latency_ms for c in timed) > 8 * min(c.latency_ms for c in timed):
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))
    ax.set_xlabel(f"{result.budgets.percentile_name} latency (ms) on {result.target.name}")
    ax.set_ylabel("top-1 agreement with float (%)" if use_agreement else "accuracy (%)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _short(c) -> str:
    return f"{c.label} {c.threads}t{'' if c.xnnpack else ' noXNN'}"


def _budget_lines(ax, result, use_agreement: bool) -> None:
    b = result.budgets
    if b.max_latency_ms is not None:
        ax.axvline(b.max_latency_ms, ls="--", color="#c33", lw=1)
        ax.annotate(f"max latency {b.max_latency_ms:g} ms", (b.max_latency_ms, 0), xycoords=("data", "axes fraction"),
                    xytext=(3, 3), textcoords="offset points", fontsize=8, color="#c33")
    floor = None
    if use_agreement and b.min_agreement is not None:
        floor = 100 * b.min_agreement
    elif not use_agreement and b.max_drop is not None and result.reference_accuracy is not None:
        floor = 100 * result.reference_accuracy - b.max_drop
    if floor is not None and math.isfinite(floor):
        ax.axhline(floor, ls="--", color="#c33", lw=1)
        ax.annotate("accuracy bound", (0, floor), xycoords=("axes fraction", "data"), xytext=(3, 3),
                    textcoords="offset points", fontsize=8, color="#c33")


def _e(value) -> str:
    return html.escape(str(value))


def _summary(result) -> str:
    if result.pick is not None:
        return f'<div class="box"><b>Pick:</b> {_e(result.reason)}</div>'
    items = "".join(f"<li>{_e(c.describe(result.candidate(c.candidate).describe()).replace('`', ''))}</li>"
                    for c in result.closest)
    written = result.written_candidate
    tail = f"<p>Written anyway (best effort): {_e(written.describe())}.</p>" if written else "<p>Nothing was written.</p>"
    return (f'<div class="box fail"><b>No candidate meets every budget.</b> Closest per budget:'
            f"<ul>{items}</ul>{tail}</div>")


def _facts(result) -> str:
    t, s, times = result.target, result.target.system, result.times
    rows = [("budgets", "; ".join(result.budgets.describe()) or "none"), ("objective", result.budgets.describe_objective()),
            ("target", f"{t.name}{'' if t.kind == t.name else f' ({t.kind})'}, {t.cores} cores, backend {t.backend}"),
            ("settings", f"threads {', '.join(map(str, sorted(t.threads)))}; XNNPACK {'on/off' if t.xnnpack_switchable else 'on'}"),
            ("float model", f"{result.model}: accuracy {fmt_pct(result.reference_accuracy)} on {result.evaluation.samples} "
                            f"samples ({result.evaluation.kind})"),
            ("time", f"{times.total_s:.1f} s: conversions {times.convert_s:.1f} s, measurements {times.measure_s:.1f} s, "
                     f"search {times.overhead_s:.1f} s")]
    if s is not None:
        rows.insert(3, ("machine", f"{s.machine}, {s.board or s.cpu_model or '?'}, {s.os or s.system}, Python {s.python}"))
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _table(result) -> str:
    word = quality_word(result)
    pct = result.budgets.percentile_name
    head = ["candidate", "threads", "XNNPACK", "KiB", word, "drop pt", "p50 ms", f"{pct} ms", "MiB", "result", "why"]
    body = []
    for c, group in row_groups(result):
        threads, xnnpack = settings_text(group)
        quality = c.accuracy if word == "accuracy" else c.top1_agreement
        cells = [c.label, threads, xnnpack, f"{(c.size_bytes or 0) / 1024:.1f}", fmt_pct(quality),
                 "-" if c.drop_pt is None else f"{c.drop_pt:.2f}", fmt_ms(c.p50_ms), fmt_ms(c.latency_ms),
                 "-" if c.memory_mib is None else f"{c.memory_mib:.1f}", _plain(short_result(c)),
                 "; ".join(c.reasons) + ("" if c.timed or c.status != "rejected" else " (never timed)")]
        css = " ".join(x for x in ("picked" if c.status == "picked" else "", "front" if c.on_front else "") if x)
        body.append(f'<tr class="{css}">' + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _plain(cell: str) -> str:
    """A console cell without its rich markup."""
    from rich.text import Text

    return Text.from_markup(cell).plain


def render_optimize_html(result) -> str:
    """The whole page as text (rendered before anything is written)."""
    chart = chart_svg(result)
    notes = "".join(f"<li>{_e(n)}</li>" for n in (*result.notes, *result.warnings))
    front = ", ".join(_e(result.candidate(i).describe()) for i in result.front) or "none"
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
            f'content="width=device-width,initial-scale=1"><title>edgekit optimize: {_e(result.model)}</title>'
            f"<style>{CSS}</style></head><body><h1>edgekit optimize: {_e(result.model)}</h1>{_summary(result)}"
            f"{_facts(result)}<h2>Accuracy against latency</h2><figure>{chart}</figure>"
            f"<p class=muted>Pareto front (no other candidate is as good on accuracy, size and latency and better on one): "
            f"{front}</p><h2>Every candidate</h2>{_table(result)}"
            f"<p class=muted>Accuracy is measured on the host on the eval data; latency and memory on the target. "
            f"KiB: the model without its manifest. Skipped: dominated after the first pass.</p>"
            + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "") + "</body></html>")
