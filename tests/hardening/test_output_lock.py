"""Two processes writing the same output: one wins, the other fails clearly (a lock file)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edgekit._files import output_lock
from edgekit.errors import BadInputError
from edgekit_testing import REPO


def test_a_second_holder_is_refused_and_the_lock_is_released(tmp_path):
    target = tmp_path / "m_int8.tflite"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(REPO)!r})
            from edgekit._files import output_lock
            with output_lock([{str(target)!r}]):
                print("locked", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(BadInputError, match="another edgekit process is writing .*m_int8.tflite"):
        with output_lock([target]):
            pass
    holder.communicate("done\n", timeout=30)
    with output_lock([target]):  # free again once the holder is gone
        pass
    assert list(tmp_path.iterdir()) == []  # lock files are removed on a clean exit


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    target = tmp_path / "out.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(REPO)!r}); "
         f"from edgekit._files import output_lock; cm = output_lock([{str(target)!r}]); cm.__enter__(); "
         "print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    with output_lock([target]):
        pass


def test_convert_refuses_outputs_another_process_is_writing(tmp_path):
    import keras

    from edgekit.convert import convert
    from edgekit.quantize import Recipe

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "m.keras")
    with output_lock([tmp_path / "m_float32.json"]):
        with pytest.raises(BadInputError, match="another edgekit process is writing"):
            convert(tmp_path / "m.keras", [Recipe("float32")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]
    assert convert(tmp_path / "m.keras", [Recipe("float32")]).artifacts[0].path.is_file()
