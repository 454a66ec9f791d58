"""The run folder's plots, drawn by a helper process or, where none can start, in this one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mnistcli.report import painter as painter_module
from mnistcli.errors import MnistcliError
from mnistcli.report.painter import Painter

HISTORY = {"loss": [0.9, 0.5], "accuracy": [0.7, 0.8], "val_loss": [0.8, 0.6], "val_accuracy": [0.7, 0.75]}
CM = [[5 if i == j else 1 for j in range(10)] for i in range(10)]
CLASSES = [str(d) for d in range(10)]
PNG = b"\x89PNG\r\n\x1a\n"


def _draw_both(painter: Painter, folder) -> None:
    painter.draw("learning_curves", HISTORY, folder / "learning_curves.png")
    painter.draw("confusion_matrix", CM, CLASSES, folder / "confusion_matrix.png")


def _drawn(folder) -> bool:
    return all((folder / name).read_bytes().startswith(PNG) for name in ("learning_curves.png", "confusion_matrix.png"))


def test_helper_process_draws_both_plots(tmp_path):
    painter = Painter()
    try:
        assert painter._process is not None
        _draw_both(painter, tmp_path)
        painter.wait()
        assert painter._process is not None  # drawn there, not here
    finally:
        painter.close()
    assert _drawn(tmp_path)


def test_drawn_here_when_no_process_can_start(tmp_path, monkeypatch):
    monkeypatch.setattr(painter_module.multiprocessing, "get_context", lambda method: _Refusing())
    painter = Painter()
    assert painter._process is None
    _draw_both(painter, tmp_path)
    painter.wait()
    painter.close()
    assert _drawn(tmp_path)


class _Refusing:
    def Pipe(self):  # noqa: N802 - multiprocessing's name
        raise OSError(24, "Too many open files")


def test_drawn_here_when_the_helper_dies(tmp_path):
    painter = Painter()
    painter._process.kill()
    painter._process.join()
    _draw_both(painter, tmp_path)
    painter.wait()
    painter.close()
    assert _drawn(tmp_path)


def test_a_plot_that_cannot_be_written_is_a_clear_error(tmp_path):
    painter = Painter()
    try:
        _draw_both(painter, tmp_path / "no" / "such" / "folder")
        with pytest.raises(MnistcliError, match="cannot write"):
            painter.wait()
    finally:
        painter.close()


def test_training_process_never_imports_matplotlib(tmp_path, tiny_mnist):
    """matplotlib stays in the helper: this process's GIL is for training and the LiteRT export."""
    script = (
        "import sys\n"
        "from mnistcli.cli.app import app\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        app(sys.argv[1:])\n"
        "    except SystemExit as e:\n"
        "        assert not e.code, e.code\n"
        "    assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    run = tmp_path / "run"
    args = ["train", "model=softmax", "train.epochs=1", "train.progress=false", f"data.dir={tiny_mnist}",
            f"hydra.run.dir={run}"]
    (tmp_path / "main.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "main.py"), *args], check=True, cwd=tmp_path)
    assert _drawn(run)


def test_a_job_that_cannot_be_sent_is_drawn_here(tmp_path):
    """Anything the pipe refuses (here: an unpicklable argument) falls back to this process, never a hang."""
    painter = Painter()
    try:
        painter.draw("learning_curves", _Unpicklable(HISTORY), tmp_path / "learning_curves.png")
        painter.draw("confusion_matrix", CM, CLASSES, tmp_path / "confusion_matrix.png")
        painter.wait()
    finally:
        painter.close()
    assert _drawn(tmp_path)


class _Unpicklable(dict):
    def __reduce__(self):
        raise TypeError("cannot pickle this")
