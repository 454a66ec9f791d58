"""The commands in a real terminal: bench/tmux_captures.py at 80 columns on the tiny real digits (a wrapped
line, a cut path or a word cut to "…" fails it). Slow: it trains twice and starts seven processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tmux_captures.py"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_every_command_reads_well_at_80_columns(tmp_path, tiny_mnist):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--widths", "80", "--quick", "--data", str(tiny_mnist), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("train", "evaluate", "predict", "sweep", "runs", "help"):
        assert (tmp_path / f"{name}-80.txt").read_text().splitlines()[-1] == "[exit 0]"
    train = (tmp_path / "train-80.txt").read_text()
    assert "mnistcli train" in train and "epoch ━" in train and "next:" in train
