"""`mnistcli tensorboard`: TensorBoard on the event files of a run, a sweep or every run under outputs/, in a
child process (`python -m mnistcli.tracking.board`) that starts without TensorFlow's C++ chatter."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from mnistcli.errors import MnistcliError
from mnistcli.runs.rundir import OUTPUTS, shown
from mnistcli.tracking.tensorboard import EVENTS_DIR

INSTALL = 'pip install "mnistcli[tensorboard]"'


def board_command(folder: Path | None, port: int = 6006, host: str = "127.0.0.1") -> list[str]:
    """The command that serves `folder`'s event files (default outputs/); one line when there are none to show."""
    root = Path(folder) if folder is not None else OUTPUTS
    if folder is not None and not root.is_dir():
        raise MnistcliError(f"{root} is not a folder")
    if not root.is_dir() or not any(root.rglob("events.out.tfevents.*")):
        raise MnistcliError(
            f"no TensorBoard event files under {shown(root)}/ - train with logger=[csv,tensorboard] to write them"
            f" (into the run folder's {EVENTS_DIR}/)"
        )
    if importlib.util.find_spec("tensorboard") is None:
        raise MnistcliError(f"TensorBoard is not installed (TensorFlow no longer brings it): {INSTALL}")
    return [sys.executable, "-m", "mnistcli.tracking.board", "--logdir", str(root), "--port", str(port), "--host", host]


def open_board(folder: Path | None, port: int = 6006, host: str = "127.0.0.1") -> int:
    """Run TensorBoard until Ctrl-C (which it receives too); returns its exit status."""
    process = subprocess.Popen(board_command(folder, port, host))
    try:
        return process.wait()
    except KeyboardInterrupt:
        return process.wait()


def main() -> None:
    """The child: TensorFlow imported with file descriptor 2 pointed away (its absl start-up lines, a dozen
    about oneDNN, CPU features and CUDA before TensorBoard's URL, ignore TF_CPP_MIN_LOG_LEVEL), then
    TensorBoard's own main with stderr back, so that its messages and errors (a port in use) still show."""
    from mnistcli.runtime.keras_import import quiet_stderr

    with quiet_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery prints the "failed call to cuInit" line
    from tensorboard.main import run_main

    sys.argv = ["tensorboard", *sys.argv[1:]]
    run_main()


if __name__ == "__main__":
    main()
