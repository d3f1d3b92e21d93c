"""Which model to ship: the picks, the Pareto front, short names and the sentences that
edgekit.report.summary computes for the terminal table and the HTML report alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.report.summary import SUMMARY_SCHEMA, pareto_front, short_names, summarize
from report_builders import five_models, model, result


def test_five_models_ship_the_fastest_that_passes():
    res = five_models()
    s = summarize(res)
    assert s.labels == ("float32", "dynamic", "float16", "int8", "int16x8")
    assert s.judged and s.ship == s.fastest
    assert (s.fastest.label, s.smallest.label, s.most_accurate.label) == ("int8", "dynamic", "float32")
    assert s.fastest.value == res.models[3].latency.p50_ms and s.fastest.vs_first == res.models[3].vs_first.speedup
    assert s.smallest.value == 111_000 and s.smallest.vs_first == pytest.approx(111_000 / 412_000)
    assert s.most_accurate.value == 0.9711 and s.most_accurate.vs_first == 0.0  # float16 ties but is slower
    assert s.pareto == (3, 0)
    assert s.verdicts == (("PASS", 3), ("FAIL", 1), ("REF", 1))
    assert s.headline == ("fastest passing: int8, 1.65x; smallest passing: dynamic, 0.27x; "
                          "most accurate: float32, 97.11%; 3 PASS, 1 FAIL")
    assert s.sentence == (
        "Ship int8: the fastest model that passes the accuracy check, 1.65x faster than float32 at 0.27x its "
        "size, accuracy 96.89%. If size matters more, dynamic is the smallest that passes (0.27x the size, "
        "1.3x slower than float32). int16x8 fails the accuracy check (accuracy below 96.14%).")
    assert s.notes[0].startswith("int16x8 (10.0x slower than float32) is slower: int16 activations run TFLite's ")
    assert s.to_json()["schema"] == SUMMARY_SCHEMA and s.to_json()["ship"]["label"] == "int8"


def test_all_pass_and_the_baseline_is_fastest():
    res = result([model("a_f32.tflite", 100_000, 0.3, seed=1, verdict="REF", accuracy=0.95),
                  model("a_int8.tflite", 30_000, 0.5, seed=2, accuracy=0.95)], reference_accuracy=0.95)
    s = summarize(res)
    assert s.ship.label == "f32" and s.smallest.label == "int8"
    assert s.headline.endswith("; all PASS")
    assert s.sentence == ("Keep f32: no other model that passes the accuracy check is faster. If size matters "
                          "more, int8 is the smallest that passes (0.30x the size, 1.7x slower than f32).")


def test_about_as_fast_is_said_so():
    res = result([model("f32.tflite", 100_000, 0.50, seed=1, verdict="REF", samples=[500_000] * 10),
                  model("int8.tflite", 30_000, 0.49, seed=2, samples=[490_000] * 10)])
    assert summarize(res).sentence.startswith(
        "Ship int8: the fastest model that passes the accuracy check, about as fast as f32 at 0.30x its size")


def test_nothing_passes():
    res = result([model("f32.tflite", 100_000, 0.5, seed=1, accuracy=0.90, verdict="FAIL"),
                  model("int8.tflite", 30_000, 0.3, seed=2, accuracy=0.85, verdict="FAIL")], reference_accuracy=0.97)
    s = summarize(res)
    assert s.ship is None and s.fastest is None and s.smallest is None and s.most_accurate.label == "f32"
    assert s.sentence == ("Ship none of these: no model passes the accuracy check (accuracy at least 96.03%: 99% "
                          "of the reference's 97.00%); the most accurate is f32 at 90.00%.")
    assert s.headline == "most accurate: f32, 90.00%; 2 FAIL"


def test_without_labels_only_speed_and_size_rank():
    res = result([model("m_f32.tflite", 100_000, 0.5, seed=1, accuracy=None, verdict=None, snr_db=None),
                  model("m_int8.tflite", 30_000, 0.25, seed=2, accuracy=None, verdict=None, snr_db=None)])
    s = summarize(res)
    assert not s.judged and s.ship is None and s.pareto == ()
    assert s.sentence.startswith("Accuracy was not checked")
    assert "int8 is fastest (" in s.sentence and "int8 is smallest (0.30x the size of f32)" in s.sentence
    assert s.headline.startswith("fastest: int8, ") and s.headline.endswith("accuracy not checked")


def test_many_failures_are_counted_not_listed():
    models = [model("ref.tflite", 100_000, 0.5, seed=0, verdict="REF", accuracy=0.97)]
    models += [model(f"bad{i}.tflite", 50_000, 0.4, seed=i, verdict="FAIL", accuracy=0.5) for i in range(1, 5)]
    assert summarize(result(models)).sentence.endswith("4 models fail the accuracy check (accuracy below 96.03%).")


def test_overhead_bound_models_are_explained():
    res = result([model("tiny_f32.tflite", 10_000, 0.008, seed=1, verdict="REF"),
                  model("tiny_int8.tflite", 4_000, 0.011, seed=2),
                  model("tiny_uint8.tflite", 4_000, 0.012, seed=3)])
    (note,) = summarize(res).notes  # one reason, said once
    assert note.startswith("int8 (1.4x slower than f32) and uint8 (1.5x slower than f32) are slower: at 0.008 ms "
                           "per call the model is likely overhead-bound")


def test_slow_kernels_are_said_even_when_this_run_did_not_show_them():
    """A tiny int16x8 model on a busy machine can time faster than float32 (measured here:
    2.3x faster at 2 threads while another job ran); its reference kernels are still said."""
    note = "int16 activations run TFLite's reference kernels (no XNNPACK): expect it many times slower"
    res = result([model("d_float32.tflite", 16_000, 0.040, seed=1, verdict=None),
                  model("d_int16x8.tflite", 8_000, 0.017, seed=2, verdict=None, kernel_note=note, xnnpack=False)])
    assert summarize(res).notes == (f"int16x8: {note} (not measured slower than float32 in this run).",)
    first = result([model("d_int16x8.tflite", 8_000, 0.017, seed=2, verdict=None, kernel_note=note),
                    model("d_float32.tflite", 16_000, 0.040, seed=1, verdict=None)])
    assert summarize(first).notes[-1] == f"int16x8: {note}."  # after why float32 is slower


def test_noisy_latencies_and_interruptions_are_noted():
    res = result([model("a.tflite", 10_000, 1.0, seed=1, verdict="REF", spread=0.3),
                  model("b.tflite", 5_000, 0.5, seed=2)], interrupted=True)
    notes = summarize(res).notes
    assert notes[0].startswith("The run was interrupted")
    assert notes[1].startswith("Latency varied by more than 10% (IQR/p50) for a:")


def test_one_and_no_models():
    s = summarize(result([model("only.tflite", 10_000, 1.0, seed=1, verdict="REF")]))
    assert s.sentence.startswith("One model measured: only, p50 1.0")
    assert s.sentence.endswith("REF; add others to compare.")
    empty = summarize(result([]))
    assert empty.sentence == "No model was measured." and empty.headline == "no model measured"
    assert empty.labels == () and empty.pareto == ()


@pytest.mark.parametrize("names, short", [
    (["digits_cnn_int8.tflite", "digits_cnn_float32.tflite"], ("int8", "float32")),
    (["m_int8_v2.tflite", "m_f32_v2.tflite"], ("int8", "f32")),
    (["model.tflite"], ("model",)),
    (["a.tflite", "b.tflite"], ("a", "b")),
    (["net.tflite", "net_int8.tflite"], ("net", "net_int8")),  # cutting would leave one empty
    (["x/y.tflite", "x/y.tflite"], ("x/y", "x/y")),  # the same name twice stays whole
    (["resnet50int8.tflite", "resnet50f32.tflite"], ("resnet50int8", "resnet50f32")),  # no separator
    ([".tflite", "a.tflite"], (".tflite", "a")),
    ([], ()),
])
def test_short_names(names, short):
    assert short_names(names) == short


def _points(draw_list):
    return [model(f"m{i}.tflite", 1000, p50, seed=i, accuracy=acc, samples=[int(p50 * 1e6)] * 3)
            for i, (p50, acc) in enumerate(draw_list)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.8]), st.sampled_from([0.5, 0.7, 0.9, 0.95])),
                min_size=1, max_size=7))
def test_pareto_front_is_the_set_nobody_beats(points):
    models = _points(points)
    front = pareto_front(models)

    def beaten(i):
        return any(q50 <= points[i][0] and qa >= points[i][1] and (q50, qa) != points[i] for q50, qa in points)

    assert set(front) == {i for i in range(len(points)) if not beaten(i)}
    assert [points[i][0] for i in front] == sorted(points[i][0] for i in front)
    # along the front, slower always buys accuracy
    accs = [points[i][1] for i in front]
    assert all(a <= b for a, b in zip(accs, accs[1:]))


def test_models_without_accuracy_or_runs_are_not_on_the_front():
    models = [model("a.tflite", 1000, 0.5, seed=1, accuracy=None, snr_db=None),
              model("b.tflite", 1000, 0.5, seed=2, samples=[]),
              model("c.tflite", 1000, 0.9, seed=3)]
    assert pareto_front(models) == (2,)
    s = summarize(result(models))
    assert s.fastest.label == "a" and s.smallest.label == "a"  # b has no timed run: never picked on speed
