"""Terminal views of every result: each function takes a typed result and returns what to
print (rich renderables and markup strings). The CLI prints them; nothing here decides an
exit code or touches a file.

Strings from outside (file names, layer names, messages) are escaped: rich markup would
otherwise eat bracketed text such as `[devices.NAME]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from rich.table import Table

from .format import fmt_bytes, fmt_db, fmt_kib, fmt_ms, fmt_pct, fmt_points, fmt_ratio

PASS_FAIL = {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]", "REF": "[dim]REF[/dim]"}


def _table(title: str, columns: list[str], left: int = 1, **options) -> Table:
    """A table whose first `left` columns are text (left-aligned), the rest numbers."""
    table = Table(title=title, **options)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right")
    return table


# --- convert and demo -------------------------------------------------------------------

def comparison_table(rows: list[list[str]], title: str, columns: list[str]) -> Table:
    table = _table(title, columns, left=1)
    for row in rows:
        table.add_row(*(PASS_FAIL.get(cell, escape(cell)) for cell in row))
    return table


def render_convert(result, model_name: str) -> list:
    """The comparison table, notes, QAT/selective lines, the files written, the Edge TPU part."""
    ev = result.evaluation
    title = f"{model_name}: verified on {ev.samples} samples ({ev.kind})"
    if result.reference_accuracy is not None:
        title += f"; float model accuracy {fmt_pct(result.reference_accuracy)}"
    from .markdown import TABLE_HEADER, comparison_rows, table_cells

    rows = [table_cells(r) for r in comparison_rows(result)]
    out: list = [comparison_table(rows, title, TABLE_HEADER)] if rows else []
    if ev.kind == "synthetic" and ev.note:
        out.append(f"[yellow]note:[/yellow] {escape(ev.note)}")
    out += quantization_lines(result)
    out += [f"wrote {escape(str(a.path))} and {escape(a.manifest_path.name)}" for a in result.artifacts]
    if result.edgetpu is not None:
        out += render_compile(result.edgetpu)
    return out


def notes(result) -> list[str]:
    return [f"[yellow]note:[/yellow] {escape(note)}" for note in result.notes]


def quantization_lines(result) -> list[str]:
    """One line per QAT fine-tuning or selective int8 result, from the manifests."""
    lines = []
    for artifact in result.artifacts:
        training, selective = artifact.manifest.training, artifact.manifest.selective
        if training:
            info = training["strategy"]
            lines.append(
                f"{artifact.recipe.name}: fine-tuned {training['epochs_run']} epoch(s) in "
                f"{training['seconds']:.1f} s ({escape(info['name'])}, {info['replicas']} replica(s))"
                + (", stopped early on the validation loss" if training["stopped_early"] else ""))
        if selective:
            cost = selective.get("cost_vs_plain_int8")
            kept = escape(", ".join(selective["float_layers"])) or "none (plain int8 meets the bound)"
            extra = f" (size {cost['size_ratio']:.2f}x, p50 latency {cost['latency_ratio']:.2f}x plain int8)" if cost else ""
            verdict = "meets" if selective["bound_holds"] else "[red]misses[/red]"
            lines.append(f"{artifact.recipe.name}: layers kept in float: {kept}{extra}; {verdict} the bound")
    return lines


def render_demo(result, width: int | None = None) -> list:
    """What was trained, the benchmark's answer and tables (fitted to `width`), why a recipe
    is slower, where the files are."""
    report = result.report
    head = (f"digits CNN: Keras accuracy {fmt_pct(report['float_accuracy'])} on {report['dataset']['test']} "
            f"held-out digits; every artifact verified and benchmarked against it")
    files = ", ".join(report["files"][k] for k in ("markdown", "html", "bench") if k in report["files"])
    return [escape(head), *render_bench(result.bench, width),
            f"files in {escape(str(result.output))}/: the model, artifacts + manifests, {files} "
            f"({report['seconds']} s)"]


# --- debug ------------------------------------------------------------------------------


def render_debug(name: str, report) -> list:
    int8, ev = report.int8, report.evaluation
    head = (f"{escape(name)}: plain int8 accuracy {fmt_pct(int8.accuracy)} (float "
            f"{fmt_pct(int8.reference_accuracy)}), top-1 agreement {fmt_pct(int8.top1_agreement)} "
            f"on {ev.samples} samples ({ev.kind})")
    shown = "" if len(report.layers) <= 20 else f"; the 20 worst of {len(report.layers)}, all in --json"
    table = _table(f"layers by int8 error (relative error: 0 exact, 1 signal gone{shown})",
                   ["rank", "layer", "op", "rel. error", "activations", "weights", "scale", "float range"], left=0)
    table.columns[1].justify = table.columns[2].justify = "left"
    for rank, entry in enumerate(report.layers[:20], 1):
        weight = "-" if entry.weight_error is None else f"{entry.weight_error:.4f}"
        low, high = entry.float_range
        table.add_row(str(rank), escape(entry.name), entry.op, f"{entry.relative_error:.4f}",
                      f"{entry.activation_error:.4f}", weight, f"{entry.scale:.3g}", f"{low:.3g} .. {high:.3g}")
    effects = _table("int8 with one suspect kept in float (with the ops reading its output)",
                     ["suspect", "float layers", "accuracy", "agreement"], left=2)
    for effect in report.effects:
        effects.add_row(escape(effect.layer), escape(", ".join(effect.float_layers)), fmt_pct(effect.accuracy),
                        fmt_pct(effect.top1_agreement))
    return [head, table, effects]


# --- inspect ----------------------------------------------------------------------------


def _quant(t) -> str:
    if not t.scales:
        return "-"
    if len(t.scales) == 1:
        return f"scale {t.scales[0]:.6g}, zero point {t.zero_points[0]}"
    return f"per-channel ({len(t.scales)} scales, axis {t.quantized_dimension})"


def _summary_table(result) -> Table:
    info = result.info
    summary = Table(title=escape(result.file), show_header=False)
    summary.add_column("key")
    summary.add_column("value")
    float_ops = ", ".join(sorted(set(info.float_ops))) or "-"
    summary.add_row("size", f"{info.size_bytes:,} bytes ({info.param_bytes:,} in constant tensors)")
    summary.add_row("ops", f"{len(info.ops)} in subgraph 0 ({info.subgraph_count} subgraph(s))")
    summary.add_row("fully integer", "yes" if info.fully_integer else f"no (float ops: {float_ops})")
    summary.add_row("dynamic shapes", "yes" if info.dynamic_shapes else "no")
    summary.add_row("metadata", escape(", ".join(info.metadata_names)) or "-")
    return summary


def _tensor_tables(info, show_tensors: bool) -> list[Table]:
    io = _table("inputs and outputs", ["", "name", "shape", "dtype", "quantization"], left=5)
    for role, tensors in (("input", info.inputs), ("output", info.outputs)):
        for t in tensors:
            io.add_row(role, escape(t.name), "x".join(map(str, t.shape)), t.dtype, _quant(t))
    ops = _table("op histogram", ["op", "count"])
    custom = {}
    for op in info.ops:
        if op.name == "CUSTOM":
            custom[op.custom_code or "?"] = custom.get(op.custom_code or "?", 0) + 1
    for name, count in sorted(info.op_histogram.items(), key=lambda kv: (-kv[1], kv[0])):
        if name != "CUSTOM":
            ops.add_row(escape(name), str(count))
    for code, count in sorted(custom.items()):
        ops.add_row(escape(f"CUSTOM ({code})"), str(count))
    tables = [io, ops]
    if show_tensors:
        table = _table("tensors", ["#", "name", "shape", "dtype", "const", "quantization"], left=6)
        for t in info.tensors:
            table.add_row(str(t.index), escape(t.name), "x".join(map(str, t.shape)), t.dtype,
                          "yes" if t.is_constant else "", _quant(t))
        tables.append(table)
    return tables


def _manifest_table(manifest) -> Table:
    m = Table(title="edgekit manifest", show_header=False)
    m.add_column("key")
    m.add_column("value")
    src, recipe, v = manifest.source, manifest.recipe, manifest.verification
    m.add_row("source", escape(f"{src.file} (sha256 {str(src.sha256)[:12]}...)"))
    m.add_row("recipe", escape(f"{recipe.name} (I/O {recipe.io})"))
    m.add_row("created", escape(manifest.created))
    if v is not None:
        for key, text in (("top-1 agreement", fmt_pct(v.top1_agreement)), ("accuracy", fmt_pct(v.accuracy)),
                          ("accuracy delta (points)", fmt_points(v.accuracy_delta)),
                          ("max abs error", f"{v.max_abs_error:.6g}"), ("SNR dB", fmt_db(v.snr_db))):
            m.add_row(key, text)
    if manifest.labels:
        shown = ", ".join(manifest.labels[:5]) + ("..." if len(manifest.labels) > 5 else "")
        m.add_row("labels", escape(f"{len(manifest.labels)}: {shown}"))
    return m


def render_inspect(result, show_tensors: bool = False) -> list:
    """Summary, I/O table, op histogram, tensors (optional), manifest summary."""
    out: list = [_summary_table(result), *_tensor_tables(result.info, show_tensors)]
    if result.manifest is not None:
        out.append(_manifest_table(result.manifest))
    if result.manifest_problem:
        out.append(f"[yellow]warning:[/yellow] manifest not used: {escape(result.manifest_problem)}")
    out += [f"[yellow]warning:[/yellow] {escape(w)}" for w in result.warnings]
    return out


# --- bench ------------------------------------------------------------------------------
#
# A column is (header, cell function, priority, justify). The table keeps every number whole:
# when the terminal is too narrow for all columns, the lowest-priority ones are dropped (and
# named under the table: they stay in --json and --report); names fold across lines instead.


@dataclass(frozen=True)
class Column:
    header: str
    cell: object  # (model, label) -> str
    priority: int  # 0 is never dropped
    justify: str = "right"


def _verdict(m) -> str:
    return PASS_FAIL.get(m.verdict.word, "-")


def _xnn(m) -> str:
    return "-" if m.xnnpack is None else ("yes" if m.xnnpack else "[yellow]no[/yellow]")


RESULT_COLUMNS = [
    Column("model", lambda m, label: escape(label), 0, "left"),
    Column("verdict", lambda m, label: _verdict(m), 0, "left"),
    Column("p50 ms", lambda m, label: fmt_ms(m.latency.p50_ms), 0),
    Column("p90 ms", lambda m, label: fmt_ms(m.latency.p90_ms), 3),
    Column("speed", lambda m, label: fmt_ratio(m.vs_first.speedup), 1),
    Column("size", lambda m, label: fmt_ratio(m.vs_first.size_ratio), 2),
    Column("KiB", lambda m, label: fmt_kib(m.size_bytes), 5),
    Column("acc %", lambda m, label: fmt_pct(m.accuracy).rstrip("%"), 1),
    Column("Δ pt", lambda m, label: fmt_points(m.vs_first.accuracy_delta), 2),
    Column("agree %", lambda m, label: fmt_pct(m.top1_agreement).rstrip("%"), 4),
]

DETAIL_COLUMNS = [
    Column("model", lambda m, label: escape(label), 0, "left"),
    Column("p99 ms", lambda m, label: fmt_ms(m.latency.p99_ms), 1),
    Column("spread", lambda m, label: fmt_pct(m.latency.robust_spread, 0), 1),
    Column("outl.", lambda m, label: str(m.latency.outliers), 3),
    Column("CV", lambda m, label: fmt_pct(m.latency.cv, 0), 5),
    Column("runs", lambda m, label: f"{m.latency.runs:,}", 4),
    Column("/s", lambda m, label: f"{m.latency.throughput_per_s:,.0f}", 2),
    Column("load ms", lambda m, label: f"{m.load_ms:.1f}", 3),
    Column("1st ms", lambda m, label: fmt_ms(m.timing.first_invoke_ms), 4),
    Column("MiB", lambda m, label: "-" if m.memory_mib is None else f"{m.memory_mib:.1f}", 2),
    Column("thr", lambda m, label: "-" if m.threads is None else str(m.threads), 1),
    Column("xnn", lambda m, label: _xnn(m), 2),
]


def _visible_width(text: str) -> int:
    from rich.text import Text

    return max((Text.from_markup(line).cell_len for line in text.split("\n")), default=0)


def fit_columns(columns: list[Column], rows: list[list[str]], width: int | None) -> tuple[list[int], list[str]]:
    """(indices of the columns to show, headers dropped) so the table fits `width` cells with
    every number whole; names (justify left, priority 0) may fold."""
    keep = list(range(len(columns)))
    widths = [max([_visible_width(columns[i].header)] + [_visible_width(r[i]) for r in rows]) for i in keep]

    def total(indices):  # content + one space either side + one rule between/around columns
        name_cap = 14  # a name column narrower than its longest name folds
        return sum(min(widths[i], name_cap) if columns[i].justify == "left" and i == 0 else widths[i]
                   for i in indices) + 3 * len(indices) + 1

    dropped = []
    while width is not None and total(keep) > width:
        candidates = [i for i in keep if columns[i].priority > 0]
        if not candidates:
            break
        worst = max(candidates, key=lambda i: (columns[i].priority, i))
        keep.remove(worst)
        dropped.append(columns[worst].header)
    return keep, dropped


def _fitted_table(title: str, columns: list[Column], models, labels, width) -> list:
    rows = [[c.cell(m, label) for c in columns] for m, label in zip(models, labels)]
    keep, dropped = fit_columns(columns, rows, width)
    table = Table(title=title, title_justify="left")
    for i in keep:
        c = columns[i]
        table.add_column(c.header, justify=c.justify, no_wrap=c.justify != "left" or i != 0,
                         overflow="fold")
    for row in rows:
        table.add_row(*[row[i] for i in keep])
    out: list = [table]
    if dropped:
        out.append(f"[dim](not shown at this width: {', '.join(dropped)}; all in --json and --report)[/dim]")
    return out


def bench_tables(result, width: int | None = None) -> list:
    """The verdicts and headline numbers, then latency spread and runtime details."""
    from .summary import summarize

    summary = summarize(result)
    system, device = result.system, result.device
    where = f"{device.name}: " if device else ""
    machine = f"{where}{system.machine} ({system.board or system.cpu_model or '?'})"
    models, labels = result.models, summary.labels
    out = _fitted_table(escape(f"edgekit bench on {machine}"), RESULT_COLUMNS, models, labels, width)
    out += _fitted_table("latency spread and runtime (spread: (p75-p25)/p50; outl.: calls > p75 + 3 IQR)",
                         DETAIL_COLUMNS, models, labels, width)
    return out


def render_bench(result, width: int | None = None) -> list:
    from .summary import summarize

    summary = summarize(result)
    out: list = [escape(summary.sentence)] + bench_tables(result, width)
    out += [f"[dim]note:[/dim] {escape(n)}" for n in summary.notes]
    return out


FLEET_COLUMNS = ["device", "board", "model", "recipe", "p50 ms", "p90 ms", "p99 ms", "speed-up", "accuracy",
                 "agree", "delta pt", "verdict"]


def fleet_table(fleet) -> Table:
    table = _table("edgekit bench on a fleet: a row per device and model", FLEET_COLUMNS, left=4)
    for entry in fleet.devices:
        result = entry.result
        board = "-" if result is None else (result.system.board or result.system.machine)
        if entry.error is not None:
            table.add_row(escape(entry.name), escape(board), "[red]failed[/red]", *[""] * 8, "[red]ERROR[/red]")
            continue
        for m in result.models:
            lat, vs = m.latency, m.vs_first
            table.add_row(escape(entry.name), escape(board), escape(m.name), m.recipe or "-", fmt_ms(lat.p50_ms),
                          fmt_ms(lat.p90_ms), fmt_ms(lat.p99_ms), fmt_ratio(vs.speedup), fmt_pct(m.accuracy),
                          fmt_pct(m.top1_agreement), fmt_points(vs.accuracy_delta), PASS_FAIL.get(m.verdict.word, "-"))
    return table


def render_fleet(fleet, width: int | None = None) -> list:
    out: list = [fleet_table(fleet)]
    for entry in fleet.devices:
        for warning in () if entry.result is None else entry.result.warnings:
            out.append(f"[yellow]warning:[/yellow] {escape(entry.name)}: {escape(warning)}")
    for entry in fleet.devices:
        if entry.error is not None:
            out.append(f"[red]failed:[/red] {escape(entry.name)}: {escape(entry.error.message)}")
    return out


# --- Edge TPU ---------------------------------------------------------------------------


def render_check(check) -> list:
    from ..edgetpu.check import TPU

    ops = _table(f"Edge TPU check: {escape(check.source)}", ["#", "op", "v", "predicted", "MACs", "reason"], left=0)
    for i in (1, 3, 5):
        ops.columns[i].justify = "left"
    for op in check.ops:
        where = "[green]Edge TPU[/green]" if op.where == TPU else "[yellow]CPU[/yellow]"
        reason = op.reason + (f" ({op.note})" if op.note else "")
        ops.add_row(str(op.index), op.name, str(op.version), where, f"{op.macs:,}", escape(reason))
    colour = "green" if check.compiles and check.cpu_ops == 0 else ("red" if not check.compiles else "yellow")
    out: list = [ops, f"[{colour}]verdict:[/{colour}] {escape(check.verdict)}; {check.tpu_subgraphs} Edge TPU subgraph(s)",
                 f"parameters on the TPU: {fmt_bytes(check.tpu_param_bytes)} of ~{fmt_bytes(check.on_chip_bytes)} on-chip"
                 + (f"; about {fmt_bytes(check.streamed_bytes)} streams from host memory" if check.streamed_bytes else "")]
    out += [f"[yellow]blocker ({b.kind}):[/yellow] {escape(b.message)}" for b in check.blockers]
    out += [f"[cyan]fix:[/cyan] {escape(fix)}" for fix in check.fixes]
    out += [f"[dim]note: {escape(w)}[/dim]" for w in check.warnings]
    return out


def _status_table(log) -> Table:
    statuses = _table("compiler: operator status", ["op", "count", "status"])
    statuses.columns[2].justify = "left"
    for segment in log.segments:
        for row in segment.ops:
            colour = "green" if row.mapped else "yellow"
            statuses.add_row(row.op, str(row.count), f"[{colour}]{escape(row.status)}[/{colour}]")
    return statuses


def render_compile(result) -> list:
    log = result.log
    table = _table(f"edgetpu_compiler {log.version or '?'}: {escape(result.check.source)}",
                   ["segment", "file", "TPU subgraphs", "ops", "on-chip used", "off-chip (streamed)", "ms"], left=2)
    for i, (path, segment) in enumerate(zip(result.paths, log.segments)):
        ops = f"{segment.mapped_ops()}/{sum(r.count for r in segment.ops)}" if segment.ops else str(segment.total_ops or "-")
        table.add_row(str(i), escape(path.name), str(segment.edgetpu_subgraphs), ops, fmt_bytes(segment.on_chip_used_bytes),
                      fmt_bytes(segment.off_chip_used_bytes), str(segment.compile_ms or "-"))
    out: list = [table, _status_table(log)]
    comparison = result.comparison
    if comparison["agree"]:
        out.append("[green]the compiler agrees with the check[/green]")
    for d in comparison["disagreements"]:
        statuses = f" (compiler: {escape('; '.join(d['compiler_statuses']))})" if d["compiler_statuses"] else ""
        out.append(f"[yellow]disagreement:[/yellow] {d['op']}: predicted {d['predicted_tpu']} on the TPU / "
                   f"{d['predicted_cpu']} on the CPU, compiled {d['compiled_tpu']} / {d['compiled_cpu']}{statuses}")
    out += [f"[yellow]warning:[/yellow] {escape(w)}" for w in result.warnings]
    out += [f"wrote {escape(str(p))} and {escape(m.name)}" for p, m in zip(result.paths, result.manifest_paths)]
    return out


# --- devices ----------------------------------------------------------------------------


def render_inventory(inventory) -> list:
    if not inventory.devices:
        return [escape("no devices: add [devices.NAME] tables to ./edgekit.toml or ~/.config/edgekit/devices.toml "
                       "(see the README), or use --device ssh://user@host:port")]
    table = _table(escape(f"devices from {', '.join(inventory.files)}"),
                   ["name", "host", "port", "profile", "python", "workdir", "from"], left=7)
    for d in inventory.devices.values():
        table.add_row(*(escape(str(v)) for v in (d.name, d.host, d.port or "-", d.profile or "-", d.python,
                                                 d.workdir, d.source)))
    return [table] + [escape(f"group {group}: {', '.join(members)}") for group, members in inventory.groups.items()]


def _gib(value) -> str:
    return "-" if value is None else f"{value / 2**30:.1f} GiB"


def render_device_check(name: str, found: dict) -> list:
    f, rt = found["facts"], found["runtime"]
    if rt["installed"]:
        runtime = f"installed: backend {rt['backend']}, edgekit {(rt['record'].get('versions') or {}).get('edgekit')}"
    else:
        runtime = f"not installed{' (' + rt['error'] + ')' if rt['error'] else ''}; run: edgekit device setup {name}"
    table = Table(title=escape(f"{name} ({found['device']['host']}), {found['seconds']} s"), show_header=False)
    rows = [("architecture", f["machine"]), ("OS", f.get("os") or f"{f['system']} {f['release']}"),
            ("kernel", f"{f['system']} {f['release']}"), ("Python", f"{f['python']} ({f['executable']})"),
            ("C library", " ".join(v for v in f.get("libc") or [] if v) or "-"),
            ("CPU", f"{f.get('cpu_model') or '-'} x {f.get('cpu_count')}"), ("board", f.get("board") or "-"),
            ("governor", ", ".join(f.get("governors") or []) or "not reported"),
            ("throttled", f.get("throttled") or "not reported (no vcgencmd)"),
            ("free disk", f"{_gib(f.get('disk_free_bytes'))} in {f.get('workdir')}"),
            ("memory", f"{_gib(f.get('mem_available_bytes'))} free of {_gib(f.get('mem_total_bytes'))}"),
            ("runtime", runtime)]
    for key, value in rows:
        table.add_row(key, escape(str(value)))
    return [table]


def render_device_setup(name: str, done: dict) -> list:
    versions = ", ".join(f"{k} {v}" for k, v in (done["versions"] or {}).items())
    what = "installed" if done["changed"] else "already up to date"
    return [escape(f"{name}: runtime {what} in {done['site']} (backend {done['backend']}; {versions}) "
                   f"in {done['seconds']} s")]
