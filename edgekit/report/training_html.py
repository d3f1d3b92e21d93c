"""`NAME.train.html`: one self-contained page for a training run (edgekit.train/1).

The history drawn as inline SVG lines, the test metrics per class, and the confusion matrix
as a heatmap table (each cell shaded by its share of the true class). No JavaScript, no
external URL; every string from the record is escaped (class names come from folder names).
"""

from __future__ import annotations

from .format import fmt_bytes, fmt_pct
from .html import CSS, esc, section

EXTRA_CSS = """
table.confusion { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.confusion th, table.confusion td { border: 1px solid var(--line); padding: 4px 7px; text-align: right;
  min-width: 2.6em; }
table.confusion th.true { text-align: left; }
table.confusion td.diag { outline: 2px solid #1a7f37; outline-offset: -2px; }
table.plain { border-collapse: collapse; margin: 6px 0 10px; }
table.plain th, table.plain td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
table.plain th.text, table.plain td.text { text-align: left; }
ul.notes li { margin: 3px 0; }
.axis-label { font-size: 11px; fill: #5d6779; }
"""
MAX_MATRIX_CLASSES = 60
MAX_LISTED = 50
SERIES = (("loss", "#0072B2", ""), ("val_loss", "#E69F00", "6 4"), ("accuracy", "#009E73", ""),
          ("val_accuracy", "#D55E00", "6 4"))


def render_training_html(result) -> str:
    """The whole page for a TrainResult, as a string."""
    title = f"edgekit training: {result.model.path.rsplit('/', 1)[-1] if result.model else result.data.source}"
    body = "\n".join(part for part in (
        _header(result),
        section("Summary", _summary(result)),
        section("Notes", _notes(result)) if result.notes else "",
        section("Training history", _history(result)),
        section("Test split", _test(result)) if result.test else "",
        section("Confusion matrix (test split)", _confusion(result)) if result.test else "",
        section("Data and split", _split(result)),
        section("Exported artifacts", _export(result)) if result.export is not None else "",
    ) if part)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{CSS}{EXTRA_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _header(result) -> str:
    version = result.versions.get("edgekit") or "unknown version"
    parts = [result.model.path if result.model else "model not written", f"created {result.created}",
             f"edgekit {version}"]
    state = ""
    if result.interrupted:
        state = "<p class=\"note\">Interrupted (Ctrl-C): the best model so far was kept.</p>"
    return (f"<header>\n<h1>edgekit training report</h1>\n<p class=\"subtitle\">"
            f"{' &middot; '.join(esc(p) for p in parts)}</p>\n{state}</header>")


def _rows(rows) -> str:
    cells = "\n".join(f"<tr><th class=\"text\">{esc(k)}</th><td class=\"text\">{esc(v)}</td></tr>" for k, v in rows)
    return f"<table class=\"plain\">\n{cells}\n</table>"


def _summary(result) -> str:
    a, d, s = result.architecture, result.data, result.settings
    best = result.best
    rows = [
        ("test accuracy", fmt_pct(result.test.accuracy) + f" on {result.test.samples} samples" if result.test else "-"),
        ("data", f"{d.source} ({d.kind}, {len(d.class_names)} classes, input {'x'.join(map(str, d.sample_shape))})"),
        ("architecture", f"{a.name}" + (f" (alpha {a.alpha:g})" if a.alpha else "") + f", weights {a.weights}; "
                         f"{a.params:,} parameters; {a.reason}"),
        ("training", f"{len(result.history)} epoch(s), batch {s.batch_size}, learning rate {s.learning_rate:g} "
                     f"({s.schedule}), augmentation {', '.join(s.augment) or 'none'}, seed {s.seed}"),
        ("best epoch", f"{best.phase} {best.epoch} (validation loss {best.val_loss:.4f})"
         if best and best.val_loss is not None else (f"{best.phase} {best.epoch}" if best else "-")),
        ("stopped", "Ctrl-C" if result.interrupted else ("early (validation loss)" if result.stopped_early
                                                        else "after the planned epochs")),
        ("strategy", f"{result.strategy.get('name')} ({result.strategy.get('replicas')} replica(s), "
                     f"{result.strategy.get('workers')} worker(s))"),
        ("preprocessing", _preprocessing(result.preprocessing)),
        ("seconds", f"{result.seconds:.1f}"),
    ]
    if result.model:
        rows.append(("model file", f"{result.model.path} ({fmt_bytes(result.model.size_bytes)}, sha256 "
                                   f"{result.model.sha256[:16]}...)"))
    return _rows(rows)


def _preprocessing(p) -> str:
    if p is None:
        return "none recorded: the data was model-ready arrays"
    return (f"{p.color}, resized {p.resize} to the input, x = (pixel * {p.scale:.6g} - {list(p.mean)}) / "
            f"{list(p.std)}")


def _notes(result) -> str:
    return "<ul class=\"notes\">\n" + "\n".join(f"<li>{esc(n)}</li>" for n in result.notes) + "\n</ul>"


def _history(result) -> str:
    history = result.history
    if not history:
        return "<p class=\"note\">No epoch finished.</p>"
    head = ["phase", "epoch", "loss", "accuracy", "val loss", "val accuracy", "learning rate", "images/s", "s"]
    rows = []
    for r in history:
        val_loss = "-" if r.val_loss is None else f"{r.val_loss:.4f}"
        rows.append([r.phase, f"{r.epoch}/{r.epochs}", f"{r.loss:.4f}", fmt_pct(r.accuracy), val_loss,
                     fmt_pct(r.val_accuracy), f"{r.learning_rate:.3g}", f"{r.images_per_s:.0f}", f"{r.seconds:.1f}"])
    return _chart(history) + _table(head, rows, text_columns=1)


def _table(head, rows, text_columns: int = 1) -> str:
    def cell(tag, i, value):
        cls = " class=\"text\"" if i < text_columns else ""
        return f"<{tag}{cls}>{esc(value)}</{tag}>"

    header = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(head)) + "</tr>"
    body = "\n".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table class=\"plain\">\n<thead>{header}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _chart(history) -> str:
    """Loss (left axis) and accuracy (0-1, right axis) per epoch, all phases in a row."""
    width, height, left, right, top, bottom = 640, 220, 48, 48, 12, 30
    n = len(history)
    losses = [v for r in history for v in (r.loss, r.val_loss) if v is not None]
    top_loss = max(losses) * 1.05 or 1.0

    def x(i):
        return left + (width - left - right) * (i / max(1, n - 1))

    def y(value, scale):
        return top + (height - top - bottom) * (1 - value / scale)

    parts = [f"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" "
             "stroke=\"#dde2ea\"/>"]
    for name, colour, dash in SERIES:
        scale = 1.0 if "accuracy" in name else top_loss
        points = [(x(i), y(getattr(r, name), scale)) for i, r in enumerate(history) if getattr(r, name) is not None]
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" "
                         f"points=\"{path}\"><title>{esc(name)}</title></polyline>")
    parts.append(f"<text class=\"axis-label\" x=\"4\" y=\"{top + 8}\">loss {top_loss:.2f}</text>")
    parts.append(f"<text class=\"axis-label\" x=\"{width - right + 4}\" y=\"{top + 8}\">acc 1.0</text>")
    parts.append(f"<text class=\"axis-label\" x=\"{left}\" y=\"{height - 8}\">epoch 1</text>")
    parts.append(f"<text class=\"axis-label\" x=\"{width - right - 50}\" y=\"{height - 8}\">epoch {n}</text>")
    key = " &middot; ".join(f"<span style=\"color:{c}\">{'- - ' if d else '&mdash; '}{esc(name)}</span>"
                            for name, c, d in SERIES)
    return (f"<figure><svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
            f"aria-label=\"loss and accuracy per epoch\">{''.join(parts)}</svg>"
            f"<figcaption>{key} (loss on the left scale, accuracy from 0 to 1 on the right)</figcaption></figure>")


def _test(result) -> str:
    t = result.test
    rows = [[c.name, fmt_pct(c.precision), fmt_pct(c.recall), "-" if c.f1 is None else f"{c.f1:.3f}", str(c.support)]
            for c in t.per_class]
    intro = f"<p>Accuracy {fmt_pct(t.accuracy)} on {t.samples} test samples, loss {t.loss:.4f}.</p>"
    return intro + _table(["class", "precision", "recall", "F1", "support"], rows)


def _confusion(result) -> str:
    t, names = result.test, result.data.class_names
    if len(names) > MAX_MATRIX_CLASSES:
        return f"<p class=\"note\">{len(names)} classes: the matrix is in the JSON record.</p>"
    head = "<tr><th class=\"true\">true \\ predicted</th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"
    rows = []
    for i, (name, row) in enumerate(zip(names, t.confusion)):
        total = sum(row) or 1
        cells = []
        for j, count in enumerate(row):
            share = count / total
            ink = "#fff" if share > 0.55 else "#1d2433"
            style = f"background: rgba(0, 114, 178, {share:.3f}); color: {ink}"
            cls = " class=\"diag\"" if i == j else ""
            cells.append(f"<td{cls} style=\"{style}\" title=\"{esc(name)} as {esc(names[j])}: {count} "
                         f"({share:.0%})\">{count}</td>")
        rows.append(f"<tr><th class=\"true\">{esc(name)}</th>{''.join(cells)}</tr>")
    return (f"<table class=\"confusion\">\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
            "<p class=\"note\">Rows: the true class; columns: the predicted class; shading: the share of the row.</p>")


def _split(result) -> str:
    d, s = result.data, result.split
    rows = [[name] + [str(d.counts[split][i]) for split in ("train", "val", "test")]
            for i, name in enumerate(d.class_names)]
    how = (f"<p>Stratified split with seed {s.seed}: validation "
           f"{s.val_source or f'{s.val_split:.0%} of the data'}, test {s.test_source or f'{s.test_split:.0%} of the data'}"
           ". The file names of each part are in the JSON record.</p>")
    bad = ""
    if d.bad_files:
        listed = "\n".join(f"<li>{esc(b.path)}: {esc(b.reason)}</li>" for b in d.bad_files[:MAX_LISTED])
        more = f"<li>... and {len(d.bad_files) - MAX_LISTED} more</li>" if len(d.bad_files) > MAX_LISTED else ""
        bad = f"<p>Unreadable images, skipped:</p><ul class=\"notes\">{listed}{more}</ul>"
    return how + _table(["class", "train", "validation", "test"], rows) + bad


def _export(result) -> str:
    rows = []
    for artifact in result.export.artifacts:
        v, m = artifact.manifest.verification, artifact.manifest
        rows.append([artifact.recipe.name, artifact.recipe.io, str(artifact.path), fmt_bytes(m.size.size_bytes),
                     fmt_pct(v.accuracy), fmt_pct(v.top1_agreement)])
    evaluation = result.export.evaluation
    intro = f"<p>Verified on {evaluation.samples} samples ({esc(evaluation.kind)}).</p>"
    return intro + _table(["recipe", "I/O", "file", "size", "accuracy", "agreement"], rows, text_columns=3)
