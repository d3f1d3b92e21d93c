"""`edgekit bench --report bench.html`: one self-contained page that answers "which model do
I ship" first.

The order is the order of the questions: the answer (a sentence, the best values), the
verdict table (the verdict is its second column, so it never leaves the screen), the charts
(accuracy against latency with the Pareto front; every model's latency distribution on a log
axis), the secondary numbers in two narrow tables, then the machine, the configuration and a
legend. Below 640 px every table turns into one card per model.

One file: inline CSS and inline SVG drawn by matplotlib (charts.py, `edgekit[report]`); no
JavaScript, no external URL. Every string taken from the result is escaped (model names come
from file names). The pieces the fleet page shares (CSS, tables, badges, the machine box,
`page`) are public here.
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass
from pathlib import Path

from .._files import atomic_write_text
from .charts import colour, latency_figure, require_matplotlib, styled, to_svg, tradeoff_figure
from .format import fmt_db, fmt_kib, fmt_ms, fmt_pct, fmt_points, fmt_ratio
from .summary import HIGH_SPREAD, Summary, summarize

__all__ = ["CSS", "DASH", "Column", "answer_box", "badge", "cell", "created_text", "esc", "machine_box", "model_cell",
           "page", "plotting_available", "render_bench_html", "require_plotting", "section", "swatch", "table",
           "warnings_box", "write_bench_html"]

DASH = "\u2013"  # en dash: a value that was not measured
ENDED_BY = {"runs": "run count", "min_time": "min time", "max_runs": "run cap", "interrupted": "interrupted"}


def require_plotting() -> None:
    """Raise a MissingDependencyError naming `pip install "edgekit[report]"` unless the
    report's charts can be drawn; call it before measuring when a report was asked for."""
    require_matplotlib()


def plotting_available() -> bool:
    """Whether the report's charts can be drawn here (matplotlib, edgekit[report])."""
    from ..errors import MissingDependencyError

    try:
        require_plotting()
    except MissingDependencyError:
        return False
    return True


def render_bench_html(result) -> str:
    """The whole page for one BenchResult (edgekit.bench/2), as a string."""
    require_plotting()
    models, summary = result.models, summarize(result)
    body = [
        _header(result),
        _banner(result),
        answer_box(summary, result.models),
        section("Verdicts", _verdict_table(models, summary), "verdicts"),
        warnings_box(result),
        section("Trade-off and latency", _charts(result, summary), "plots"),
        section("Latency details", _latency_table(models, summary), "latency-details"),
        section("Runtime and fidelity", _runtime_table(models, summary), "runtime"),
        machine_box(result.system),
        section("Configuration", _config_list(result), "configuration"),
        section("How to read this page", _legend(result), "legend"),
    ]
    count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
    return page(f"edgekit benchmark: {count}", body)


def write_bench_html(result, path) -> Path:
    """Render `result` and write it to `path` atomically; returns the Path written."""
    return atomic_write_text(path, render_bench_html(result))


# --- page pieces (shared with the fleet page) ---------------------------------------------


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, parts: list[str]) -> str:
    body = "\n".join(p for p in parts if p)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def section(title: str, content: str, css: str = "") -> str:
    attr = f" class=\"{esc(css)}\"" if css else ""
    return f"<section{attr}>\n<h2>{esc(title)}</h2>\n{content}\n</section>"


def badge(word, reason) -> str:
    title = f" title=\"{esc(reason)}\"" if reason else ""
    if word in ("PASS", "FAIL", "REF"):
        return f"<span class=\"badge {word.lower()}\"{title}>{word}</span>"
    return f"<span class=\"muted\"{title}>{DASH}</span>"


@dataclass(frozen=True)
class Column:
    """A table column: its heading, its kind ("num" right-aligned, "text", "model",
    "verdict") and a hover explanation."""

    title: str
    kind: str = "num"
    hint: str = ""


def cell(content: str, css: str = "", title: str = "") -> tuple[str, str, str]:
    """A table cell: already-escaped `content`, extra classes, hover text."""
    return content, css, title


def table(columns: list[Column], rows: list[list[tuple[str, str, str]]], css: str = "") -> str:
    """A table that becomes one card per row on a phone: every cell carries its column's
    heading as `data-label`."""
    head = "".join(f"<th class=\"{c.kind}\"" + (f" title=\"{esc(c.hint)}\"" if c.hint else "")
                   + f" scope=\"col\">{esc(c.title)}</th>" for c in columns)
    body = []
    for row in rows:
        tds = "".join(
            f"<td class=\"{' '.join(x for x in (c.kind, extra) if x)}\" data-label=\"{esc(c.title)}\""
            + (f" title=\"{esc(hover)}\"" if hover else "") + f">{content}</td>"
            for c, (content, extra, hover) in zip(columns, row))
        body.append(f"<tr>{tds}</tr>")
    return (f"<div class=\"table-wrap\"><table class=\"stack {esc(css)}\">\n<thead><tr>{head}</tr></thead>\n"
            "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>")


def model_cell(label: str, name: str, path: str, index: int | None, sub: str = "",
               tags: tuple[str, ...] = ()) -> tuple:
    """The first cell of a model's row: its colour in the charts (none when `index` is None),
    its short name (the file name and path on hover), tags and an optional second line."""
    hover = name if path in ("", name) else f"{name} ({path})"
    tag_html = "".join(f" <span class=\"tag {esc(t)}\">{esc(t)}</span>" for t in tags)
    second = f"<div class=\"sub\">{sub}</div>" if sub else ""
    content = swatch(index) + f"<span class=\"name\" title=\"{esc(hover)}\">{esc(label)}</span>{tag_html}{second}"
    return cell(content)


def swatch(index: int | None) -> str:
    """A small square in the colour charts use for `index`; nothing for None."""
    return "" if index is None else f"<span class=\"swatch\" style=\"background:{colour(index)}\"></span>"


def _definition_list(rows: list[tuple[str, str, str]], css: str) -> str:
    """rows of (term, already-escaped value, extra class of the value or "")."""
    items = "\n".join(f"<div><dt>{esc(term)}</dt><dd" + (f" class=\"{cls}\"" if cls else "") + f">{value}</dd></div>"
                      for term, value, cls in rows)
    return f"<dl class=\"{css}\">\n{items}\n</dl>"


def machine_box(system, title: str = "Machine") -> str:
    governors = list(system.governors)
    throttled, throttle_text, throttle_bad = system.throttled, "not reported", False
    if throttled is not None:
        throttle_bad = str(throttled) not in ("0x0", "0")
        throttle_text = f"{throttled} ({'throttling or under-voltage seen' if throttle_bad else 'none'})"
    kernel = f"{system.system} {system.release}".strip()
    rows = [
        ("Machine", esc(system.machine or DASH), ""),
        ("OS", esc(system.os or kernel or DASH), ""),
        ("Kernel", esc(kernel or DASH), ""),
        ("CPU", esc(system.cpu_model or DASH), ""),
        ("Cores", esc(system.cpu_count or DASH), ""),
        ("Board", esc(system.board or DASH), ""),
        ("Governor", esc(", ".join(governors) or "not reported"),
         "bad" if any(g != "performance" for g in governors) else ""),
        ("Throttled", esc(throttle_text), "bad" if throttle_bad else ""),
        ("Python", esc(system.python or DASH), ""),
    ]
    return f"<section class=\"machine\">\n<h2>{esc(title)}</h2>\n{_definition_list(rows, 'facts')}\n</section>"


def answer_box(summary: Summary, models, heading: str = "") -> str:
    """The sentence, the best values as cards, and the notes (why slower, what to distrust)."""
    title = f"<h2>{esc(heading)}</h2>\n" if heading else ""
    cards = []
    for what, pick, value in _pick_cards(summary, models):
        cards.append(f"<li class=\"pick\"><span class=\"pick-what\">{esc(what)}</span>\n"
                     f"<span class=\"pick-name\">{swatch(pick.index)}{esc(pick.label)}</span>\n"
                     f"<span class=\"pick-value\">{esc(value)}</span></li>")
    if summary.verdicts:
        tally = " ".join(f"{count}\u00a0{badge(word, '') if word != 'none' else 'without verdict'}"
                         for word, count in summary.verdicts)
        cards.append(f"<li class=\"pick\"><span class=\"pick-what\">Verdicts</span>\n"
                     f"<span class=\"pick-value tally\">{tally}</span></li>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in summary.notes)
    return (f"<section class=\"answer\" aria-label=\"Summary\">\n{title}"
            f"<p class=\"sentence\">{esc(summary.sentence)}</p>\n"
            + (f"<ul class=\"picks\">{''.join(cards)}</ul>\n" if cards else "")
            + (f"<ul class=\"notes\">{notes}</ul>\n" if notes else "") + "</section>")


def _pick_cards(summary: Summary, models) -> list:
    passing = " passing" if summary.judged else ""
    cards = []
    if summary.fastest is not None:
        p = summary.fastest
        cards.append((f"Fastest{passing}", p, f"{fmt_ms(p.value)} ms \u00b7 {fmt_ratio(p.vs_first)} speed"))
    if summary.smallest is not None:
        p = summary.smallest
        cards.append((f"Smallest{passing}", p, f"{fmt_kib(p.value)} KiB \u00b7 {fmt_ratio(p.vs_first)} size"))
    if summary.most_accurate is not None:
        p = summary.most_accurate
        cards.append(("Most accurate", p, f"{fmt_pct(p.value)} \u00b7 {fmt_points(p.vs_first)} pt"))
    return cards


def warnings_box(result, title: str = "Check before trusting the latencies:") -> str:
    """The run's warnings and each model's, a warning shared by several models said once."""
    labels = summarize(result).labels if result.models else ()
    by_text: dict[str, list[str]] = {}
    for label, m in zip(labels, result.models):
        for w in m.warnings:
            by_text.setdefault(w, []).append(label)
    lines = [esc(w) for w in result.warnings if w not in by_text]
    lines += [f"<strong>{esc(', '.join(names))}</strong>: {esc(w)}" for w, names in by_text.items()]
    if not lines:
        return ""
    items = "\n".join(f"<li class=\"warning\">{line}</li>" for line in lines)
    return f"<div class=\"warnings\"><strong>{esc(title)}</strong>\n<ul>\n{items}\n</ul></div>"


# --- the bench page -----------------------------------------------------------------------


def created_text(created) -> str:
    """An ISO timestamp as people read it ("2026-11-22 03:30 UTC"); as given when it is not one."""
    text = str(created or "")
    try:
        return _dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        return text


def _header(result) -> str:
    created = created_text(result.created)
    count = len(result.models)
    s = result.system
    where = s.board or s.cpu_model or s.machine or "an unknown machine"
    if s.cpu_count:
        where += f", {s.cpu_count} cores"
    if result.device is not None:
        where = f"{result.device.name} ({where})"
    parts = [f"{count} model{'s' if count != 1 else ''}", f"on {where}",
             f"created {created or 'at an unknown time'}", f"edgekit {result.edgekit_version or 'unknown version'}"]
    subtitle = " \u00b7 ".join(esc(p) for p in parts)
    return f"<header>\n<h1>edgekit benchmark</h1>\n<p class=\"subtitle\">{subtitle}</p>\n</header>"


def _banner(result) -> str:
    if not result.interrupted:
        return ""
    return ("<div class=\"banner interrupted\"><strong>Interrupted: partial results.</strong> The run was "
            "stopped early; some models may be missing or measured with fewer runs than asked for.</div>")


_VERDICT_COLUMNS = [
    Column("model", "model"), Column("verdict", "verdict", "PASS: accuracy at least the bound; REF: the reference"),
    Column("p50 ms", hint="median latency per call"), Column("speed-up", hint="p50 of the first model / this p50"),
    Column("size KiB"), Column("size vs first", hint="file size / the first model's"),
    Column("accuracy"), Column("\u0394 accuracy pt", hint="accuracy minus the first model's, in points"),
    Column("agreement", hint="top-1 agreement with the reference"),
]


def _verdict_table(models, summary: Summary) -> str:
    if not models:
        return "<p class=\"note\">No model was measured.</p>"
    rows = []
    for i, m in enumerate(models):
        lat, vs = m.latency, m.vs_first
        speedup, ratio, delta = (None, None, None) if vs is None else (vs.speedup, vs.size_ratio, vs.accuracy_delta)
        rows.append([
            _model_cell(m, i, summary, detailed=True),
            cell(badge(m.verdict.word, m.verdict.reason), title=m.verdict.reason),
            _best(fmt_ms(lat.p50_ms if lat.runs else None, DASH), summary.fastest, i, "fastest"),
            cell(fmt_ratio(speedup, DASH)),
            _best(fmt_kib(m.size_bytes, DASH), summary.smallest, i, "smallest"),
            cell(fmt_ratio(ratio, DASH)),
            _best(fmt_pct(m.accuracy, missing=DASH), summary.most_accurate, i, "most accurate"),
            cell(fmt_points(delta, missing=DASH), "neg" if delta is not None and delta < 0 else ""),
            cell(fmt_pct(m.top1_agreement, missing=DASH)),
        ])
    return table(_VERDICT_COLUMNS, rows, "primary")


def _best(text: str, pick, index: int, what: str) -> tuple:
    best = pick is not None and pick.index == index
    return cell(text, "best" if best else "", f"{what}{' passing' if what != 'most accurate' else ''} model"
                if best else "")


def _model_cell(m, index: int, summary: Summary, detailed: bool = False) -> tuple:
    label = summary.labels[index]
    tags = tuple(t for t, on in (("ship", summary.ship is not None and summary.ship.index == index),
                                 ("partial", m.timing.interrupted)) if on)
    sub = []
    if detailed and m.recipe and m.recipe != label:
        sub.append(esc(m.recipe))
    if detailed and m.kernel_note:
        sub.append(f"<span class=\"why\">{esc(m.kernel_note)}</span>")
    return model_cell(label, m.name, m.path, index, " \u00b7 ".join(sub), tags if detailed else ())


def _charts(result, summary: Summary) -> str:
    models = result.models
    if not models:
        return "<p class=\"note\">No model was measured.</p>"
    reference = None if result.reference is None else result.reference.accuracy
    bound = None if reference is None else reference * result.config.min_relative_accuracy
    with styled("tradeoff"):
        made = tradeoff_figure(models, summary.labels, summary.pareto, reference, bound)
        tradeoff = None if made is None else to_svg(made[0], "tradeoff", "Accuracy against p50 latency", made[1])
    with styled("latency"):
        made = latency_figure(models, summary.labels)
        latency = None if made is None else to_svg(made[0], "latency", "Latency distribution per model", made[1])
    figures = [
        _figure("Accuracy against latency", tradeoff, _tradeoff_caption(reference),
                "no labelled data: accuracy was not measured, so there is no trade-off to plot."),
        _figure("Latency of every call", latency,
                "One row per model, log axis. Shaded: histogram of all timed calls; box: p25\u2013p75; "
                "dark line: median (p50); whiskers: p1\u2013p99. Hover a row for its numbers.",
                "No latency samples were recorded."),
    ]
    return f"<div class=\"charts\">\n{''.join(figures)}\n</div>"


def _figure(title: str, svg: str | None, caption: str, missing: str) -> str:
    content = svg if svg is not None else f"<p class=\"note\">{esc(missing)}</p>"
    return f"<figure>\n<h3>{esc(title)}</h3>\n{content}\n<figcaption>{esc(caption)}</figcaption>\n</figure>\n"


def _tradeoff_caption(reference) -> str:
    text = ("Up and to the left is better. \u25cf PASS, \u25c6 REF, \u2716 FAIL; bar: p25\u2013p75 latency. "
            "Grey staircase and dark rings: the Pareto front, the models that no other model beats on both "
            "accuracy and speed: choose among these.")
    if reference is not None:
        text += " Dashed: the reference's accuracy; dotted: the PASS bound (shaded below it: FAIL)."
    return text


_LATENCY_COLUMNS = [
    Column("model", "model"), Column("p25 ms"), Column("p50 ms"), Column("p75 ms"), Column("p90 ms"), Column("p99 ms"),
    Column("spread", hint="(p75 - p25) / p50: run-to-run variation, blind to a few outliers"),
    Column("CV", hint="std / mean: dominated by single outliers"),
    Column("outliers", hint="calls slower than p75 + 3 IQR"), Column("runs"),
    Column("ended by", "text", "what ended the timed runs"), Column("calls/s", hint="1000 / mean latency"),
]


def _latency_table(models, summary: Summary) -> str:
    if not models:
        return "<p class=\"note\">No model was measured.</p>"
    rows = []
    for i, m in enumerate(models):
        lat, timed = m.latency, m.latency.runs > 0
        spread = lat.robust_spread if timed and lat.p75_ms > 0 else None
        rows.append([
            _model_cell(m, i, summary),
            *(cell(fmt_ms(v if timed and v > 0 else None, DASH)) for v in
              (lat.p25_ms, lat.p50_ms, lat.p75_ms, lat.p90_ms, lat.p99_ms)),
            cell(fmt_pct(spread, 1, DASH), "bad" if spread is not None and spread > HIGH_SPREAD else ""),
            cell(fmt_pct(lat.cv if timed else None, 1, DASH)),
            cell(str(lat.outliers) if timed and lat.p75_ms > 0 else DASH),
            cell(f"{lat.runs:,}"),
            cell(esc(ENDED_BY.get(m.timing.ended_by, m.timing.ended_by)) if timed else DASH,
                 "bad" if m.timing.ended_by == "max_runs" else ""),
            cell(f"{lat.throughput_per_s:,.0f}" if timed and lat.throughput_per_s > 0 else DASH),
        ])
    return table(_LATENCY_COLUMNS, rows, "details latency")


_RUNTIME_COLUMNS = [
    Column("model", "model"), Column("load ms"), Column("first call ms"),
    Column("memory MiB", hint="peak memory of a process that loaded and ran only this model"),
    Column("threads"), Column("XNNPACK", "text"), Column("delegate", "text"), Column("backend", "text"),
    Column("top-5"), Column("SNR dB", hint="outputs against the reference; higher is closer, inf: identical"),
    Column("max abs error"),
]


def _runtime_table(models, summary: Summary) -> str:
    if not models:
        return "<p class=\"note\">No model was measured.</p>"
    rows = []
    for i, m in enumerate(models):
        c = m.comparison
        rows.append([
            _model_cell(m, i, summary),
            cell(fmt_ms(m.load_ms, DASH)), cell(fmt_ms(m.timing.first_invoke_ms, DASH)),
            cell(DASH if m.memory_mib is None else f"{m.memory_mib:.1f}"),
            cell(DASH if m.threads is None else str(m.threads)),
            cell({True: "yes", False: "no", None: DASH}[m.xnnpack], "bad" if m.xnnpack is False else ""),
            cell(esc(m.delegate or DASH)), cell(esc(m.backend or DASH)),
            cell(fmt_pct(None if c is None else c.top5_accuracy, missing=DASH)),
            cell(_snr(None if c is None else c.snr_db)),
            cell(DASH if c is None else f"{c.max_abs_error:.3g}"),
        ])
    return table(_RUNTIME_COLUMNS, rows, "details runtime")


def _snr(value) -> str:
    text = fmt_db(value, DASH)
    return {"inf": "\u221e", "-inf": "-\u221e"}.get(text, text)


def _config_list(result) -> str:
    c, t = result.config, result.config.timing
    threads = sorted({m.threads for m in result.models if m.threads is not None})
    thread_text = (str(c.threads) if c.threads is not None
                   else ", ".join(map(str, threads)) + " (recorded per model)" if threads else "interpreter default")
    rows = [
        ("Timed runs", esc(f"at least {t.runs} runs and {t.min_time_s:g} s (at most {t.max_runs:,})"), ""),
        ("Warm-up", esc(f"at least {t.warmup} runs and {t.warmup_time_s:g} s"), ""),
        ("Threads", esc(thread_text), ""),
        ("Backend", esc(c.backend or DASH), ""),
        ("PASS bound", esc(f"accuracy \u2265 {c.min_relative_accuracy:.4g} \u00d7 the reference's"), ""),
        ("Data", esc(_describe_data(result.data)), ""),
        ("Reference", esc(_describe_reference(result.reference)), ""),
    ]
    if result.device is not None:
        d = result.device
        rows.append(("Device", esc(f"{d.name} ({d.address}), upload {d.upload_s:.1f} s, total {d.total_s:.1f} s"), ""))
    return _definition_list(rows, "facts config")


def _describe_data(data) -> str:
    if data is None:
        return "none: latency measured on zeros, accuracy not measured"
    shape = "\u00d7".join(str(d) for d in data.shape)
    details = [data.kind, f"{data.n} samples"] + ([f"shape {shape}"] if shape else [])
    details.append("labelled" if data.has_labels else "no labels")
    return f"{data.source} ({', '.join(details)})"


def _describe_reference(reference) -> str:
    if reference is None:
        return "none"
    kind = "the first model" if reference.kind == "first-model" else reference.kind
    text = f"{kind}: {reference.path}"
    if reference.accuracy is not None:
        text += f" (accuracy {fmt_pct(reference.accuracy)})"
    return text


def _legend(result) -> str:
    share = f"{result.config.min_relative_accuracy:.4g}"
    rows = [
        ("ship", "the fastest model that passes the accuracy check; the sentence at the top says why."),
        ("highlighted", "the best value among the models that pass: fastest p50, smallest file, highest accuracy."),
        ("p25 / p50 / p90 / p99", "the latency that 25%, 50%, 90% and 99% of timed calls stay under; p50 is "
                                  "the median, p99 the near-worst case a user notices."),
        ("spread", f"(p75 \u2212 p25) / p50, the typical run-to-run variation; above {HIGH_SPREAD:.0%} it is "
                   "marked red (a busy machine or a changing CPU frequency)."),
        ("CV", "standard deviation / mean: one slow call can make it huge; read the spread instead."),
        ("outliers", "timed calls slower than p75 + 3 \u00d7 (p75 \u2212 p25)."),
        ("ended by", "what ended the timed runs: the run count, the minimum time, or the run cap (red: the cap "
                     "cut the minimum time short)."),
        ("speed-up / size vs first", "p50 speed and file size relative to the first model (speed-up 2x = half "
                                     "the median latency)."),
        ("agreement", "share of inputs where the model's top-1 class equals the reference's."),
        ("\u0394 accuracy pt", "accuracy minus the first model's accuracy, in percentage points."),
        ("memory", "peak memory of a process that loaded, allocated and ran only this model."),
        ("SNR dB", "signal-to-noise ratio of the outputs against the reference; higher is closer, \u221e: identical."),
        ("PASS / FAIL / REF", f"PASS when accuracy \u2265 {share} \u00d7 the reference's accuracy (MLPerf-style); "
                              "REF: the model that is the reference; a dash: no labelled data or no reference."),
        ("Pareto front", "the models that no other model beats on both accuracy and p50 latency."),
    ]
    return _definition_list([(term, esc(text), "") for term, text in rows], "legend")


CSS = """
:root { --ink:#1d2433; --muted:#5d6779; --line:#dde2ea; --soft:#f5f7fa; --pass:#1a7f37; --fail:#c62828;
  --best:#e3f4e8; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 56px; overflow-wrap: break-word; }
h1 { font-size: 26px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
.subtitle { color: var(--muted); margin: 2px 0 0; }
.answer { margin-top: 16px; padding: 14px 18px; border: 1px solid #b9dcc4; border-left: 5px solid var(--pass);
  border-radius: 8px; background: #f6fbf7; }
.answer h2 { margin-top: 0; border: 0; font-size: 16px; }
.sentence { font-size: 17px; line-height: 1.45; margin: 0; }
.picks { list-style: none; margin: 12px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 10px; }
.pick { display: flex; flex-direction: column; min-width: 150px; padding: 6px 12px; background: #fff;
  border: 1px solid var(--line); border-radius: 6px; }
.pick-what { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.pick-name { font-weight: 700; overflow-wrap: anywhere; }
.pick-value { font-variant-numeric: tabular-nums; }
.tally .badge { margin-right: 6px; }
.notes { margin: 10px 0 0; padding-left: 20px; color: #38404f; font-size: 14px; }
.machine { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 4px 18px 14px;
  margin-top: 28px; }
.machine h2 { border: 0; margin: 10px 0 6px; font-size: 15px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 300px), 1fr));
  gap: 6px 24px; margin: 0; }
dl.facts div { display: flex; gap: 10px; min-width: 0; }
dl.facts dt { flex: 0 0 90px; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
dl.config { grid-template-columns: 1fr; }
dl.config dt { flex-basis: 110px; }
dd.bad, td.bad { color: var(--fail); font-weight: 600; }
.banner, .warnings { border-radius: 8px; padding: 10px 16px; margin-top: 16px; }
.banner.interrupted { background: #fdecea; border: 1px solid #f3b8b2; color: #8a1c12; }
.banner ul { margin: 4px 0 0; padding-left: 20px; }
.warnings { background: #fff8e1; border: 1px solid #f2d48a; color: #6b4e00; }
.warnings ul { margin: 4px 0 0; padding-left: 20px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: right; }
td { white-space: nowrap; }
th { font-size: 12.5px; font-weight: 600; color: var(--muted); vertical-align: bottom; line-height: 1.25;
  border-bottom: 2px solid #c5ccd8; }
th.text, td.text, th.model, td.model { text-align: left; }
th.verdict, td.verdict { text-align: center; }
td.model { white-space: normal; overflow-wrap: anywhere; min-width: 8em; max-width: 22em; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.neg { color: var(--fail); }
td.best { background: var(--best); font-weight: 700; }
.name { font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.sub { font-size: 12.5px; color: var(--muted); line-height: 1.35; margin-top: 2px; }
.sub .why { color: #8a4b00; }
.tag { font-size: 11px; font-weight: 600; border-radius: 4px; padding: 1px 5px; margin-left: 4px;
  white-space: nowrap; }
.tag.ship { color: #fff; background: var(--pass); }
.tag.partial { color: #8a1c12; background: #fdecea; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-size: 12px; font-weight: 700;
  letter-spacing: .04em; border-radius: 999px; padding: 1px 9px; }
.badge.pass { background: #dcf5e3; color: var(--pass); border: 1px solid #9fd8b0; }
.badge.fail { background: #fde2e0; color: var(--fail); border: 1px solid #f1a9a3; }
.badge.ref { background: #e8ecf3; color: var(--muted); border: 1px solid #c5ccd8; }
.muted, .note { color: var(--muted); }
.note { font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 24px 32px;
  align-items: start; }
figure { margin: 0; min-width: 0; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
svg.chart { display: block; width: 100%; height: auto; max-width: 560px; }
.device-answers { margin: 0; padding-left: 0; list-style: none; }
.device-answers li { margin: 4px 0; }
.device-key { list-style: none; padding: 0; margin: 0 0 6px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
dl.legend { margin: 0; }
dl.legend div { display: flex; gap: 12px; padding: 3px 0; }
dl.legend dt { flex: 0 0 180px; font-weight: 600; }
dl.legend dd { margin: 0; color: #38404f; }
@media (max-width: 640px) {
  main { padding: 14px 10px 40px; }
  h1 { font-size: 22px; }
  .sentence { font-size: 16px; }
  .pick { flex: 1 1 100%; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack, table.stack tbody { display: block; }
  table.stack tr { display: grid; grid-template-columns: 1fr 1fr; gap: 0 14px; padding: 8px 0;
    border-bottom: 1px solid var(--line); }
  table.stack td { display: flex; justify-content: space-between; gap: 8px; border: 0; padding: 2px 0;
    white-space: normal; text-align: right; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-size: 12.5px; text-align: left; }
  table.stack td.model { grid-column: 1 / -1; display: block; max-width: none; text-align: left; }
  table.stack td.model::before { content: none; }
  dl.legend div { flex-direction: column; gap: 0; }
  dl.legend dt { flex-basis: auto; }
}
@media print { main { max-width: none; padding: 0; } }
"""
