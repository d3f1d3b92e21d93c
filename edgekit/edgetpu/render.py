"""Rich renderables for `edgekit edgetpu check` and `edgekit edgetpu compile` (CLI only)."""

from __future__ import annotations

from .check import TPU, CheckResult, format_bytes
from .compiler import CompileResult


def render_check(check: CheckResult) -> list:
    from rich.table import Table

    ops = Table(title=f"Edge TPU check: {check.source}")
    for column in ("#", "op", "v", "predicted", "MACs", "reason"):
        ops.add_column(column, justify="right" if column in ("#", "v", "MACs") else "left")
    for op in check.ops:
        where = "[green]Edge TPU[/green]" if op.where == TPU else "[yellow]CPU[/yellow]"
        reason = op.reason + (f" ({op.note})" if op.note else "")
        ops.add_row(str(op.index), op.name, str(op.version), where, f"{op.macs:,}", reason)
    out = [ops]
    memory = (
        f"parameters on the TPU: {format_bytes(check.tpu_param_bytes)} of ~{format_bytes(check.on_chip_bytes)} on-chip"
        + (f"; about {format_bytes(check.streamed_bytes)} streams from host memory" if check.streamed_bytes else "")
    )
    colour = "green" if check.compiles and check.cpu_ops == 0 else ("red" if not check.compiles else "yellow")
    out.append(f"[{colour}]verdict:[/{colour}] {check.verdict}; {check.tpu_subgraphs} Edge TPU subgraph(s)")
    out.append(memory)
    for blocker in check.blockers:
        out.append(f"[yellow]blocker ({blocker.kind}):[/yellow] {blocker.message}")
    for fix in check.fixes:
        out.append(f"[cyan]fix:[/cyan] {fix}")
    for warning in check.warnings:
        out.append(f"[dim]note: {warning}[/dim]")
    return out


def render_compile(result: CompileResult) -> list:
    from rich.table import Table

    log = result.log
    table = Table(title=f"edgetpu_compiler {log.version or '?'}: {result.check.source}")
    for column in ("segment", "file", "TPU subgraphs", "ops", "on-chip used", "off-chip (streamed)", "ms"):
        table.add_column(column, justify="left" if column in ("segment", "file") else "right")
    for i, (path, segment) in enumerate(zip(result.paths, log.segments)):
        ops = f"{segment.mapped_ops()}/{sum(r.count for r in segment.ops)}" if segment.ops else str(segment.total_ops or "-")
        table.add_row(str(i), path.name, str(segment.edgetpu_subgraphs), ops, format_bytes(segment.on_chip_used_bytes),
                      format_bytes(segment.off_chip_used_bytes), str(segment.compile_ms or "-"))
    out = [table]
    statuses = Table(title="compiler: operator status")
    for column in ("op", "count", "status"):
        statuses.add_column(column, justify="right" if column == "count" else "left")
    for segment in log.segments:
        for row in segment.ops:
            colour = "green" if row.mapped else "yellow"
            statuses.add_row(row.op, str(row.count), f"[{colour}]{row.status}[/{colour}]")
    out.append(statuses)
    comparison = result.comparison
    if comparison["agree"]:
        out.append("[green]the compiler agrees with the check[/green]")
    for d in comparison["disagreements"]:
        out.append(
            f"[yellow]disagreement:[/yellow] {d['op']}: predicted {d['predicted_tpu']} on the TPU / "
            f"{d['predicted_cpu']} on the CPU, compiled {d['compiled_tpu']} / {d['compiled_cpu']}"
            + (f" (compiler: {'; '.join(d['compiler_statuses'])})" if d["compiler_statuses"] else "")
        )
    for warning in result.warnings:
        out.append(f"[yellow]warning:[/yellow] {warning}")
    return out
