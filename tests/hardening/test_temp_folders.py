"""What a SIGKILL leaves in $TMPDIR is removed by the next edgekit run: every temporary
folder edgekit makes is named `{prefix}{pid}-XXXX` by `_files.temp_folder`, and any run sweeps
the folders of every prefix whose process is gone (README: Reliability)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgekit import _files


@pytest.fixture
def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


def test_every_prefix_of_a_dead_process_is_swept_and_nothing_else(tmp_path, dead_pid):
    dead = [tmp_path / f"{prefix}{dead_pid}-ab12" for prefix in _files.TEMP_PREFIXES]
    alive = [tmp_path / f"{prefix}{os.getpid()}-cd34" for prefix in _files.TEMP_PREFIXES]
    others = [tmp_path / f"edgekit-notes-{dead_pid}-x", tmp_path / f"mine-{dead_pid}-y",
              tmp_path / "edgekit-train-export-abc"]
    for folder in dead + alive + others:
        folder.mkdir()
        (folder / "f").write_bytes(b"x")
    target = tmp_path / "keep"
    target.mkdir()
    (tmp_path / f"edgekit-run-{dead_pid}-link").symlink_to(target)  # never followed
    removed = _files.remove_stale_folders(str(tmp_path))
    assert sorted(removed) == sorted(dead)
    assert all(p.is_dir() for p in alive + others) and target.is_dir()
    assert not [p for p in dead if p.exists()]


def test_temp_folder_sweeps_before_it_makes_its_own(tmp_path, dead_pid, monkeypatch):
    monkeypatch.setattr(_files.tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"edgekit-savedmodel-{dead_pid}-zz"
    stale.mkdir()
    with _files.temp_folder("edgekit-optimize-") as tmp:
        assert os.path.basename(tmp).startswith(f"edgekit-optimize-{os.getpid()}-")
        assert not stale.exists()
    assert not os.path.exists(tmp)


def test_a_prefix_outside_the_list_is_a_bug():
    with pytest.raises(ValueError, match="TEMP_PREFIXES"):
        with _files.temp_folder("edgekit-new-"):
            pass


def test_an_unreadable_temp_folder_is_not_an_error(tmp_path):
    assert _files.remove_stale_folders(str(tmp_path / "missing")) == []
