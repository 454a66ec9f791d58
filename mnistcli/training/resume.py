"""`mnistcli train resume=RUN_FOLDER`: continue an interrupted run from its last checkpoint, with its own config."""

from __future__ import annotations

import copy
import os
import platform
import signal
from contextlib import suppress
from pathlib import Path

from mnistcli.errors import MnistcliError
from mnistcli.runs.record import RunRecord, now, read_record, write_record
from mnistcli.runs.rundir import METRICS_FILE, shown

# The only settings a resume may change: how long to train, and how it looks. Anything else would make the
# resumed run a different experiment from the one its first epochs belong to.
CHANGEABLE = ("train.epochs", "train.progress")


EXAMPLE = "resume=outputs/2026-01-31/12-00-00-123456_hidden128"


def parse_args(args: list[str]) -> tuple[Path, dict] | None:
    """(run folder, {key: value}) when the command line asks to resume, else None."""
    import yaml

    wanted = [a for a in args if a.partition("=")[0].lstrip("+~") == "resume"]
    if not wanted:
        return None
    if len(wanted) > 1:
        raise MnistcliError("resume= was given more than once; give the one run folder to continue")
    folder = wanted[0].partition("=")[2].strip()
    if not folder:
        raise MnistcliError(f"resume= needs the run folder to continue, e.g. {EXAMPLE}")
    overrides: dict = {}
    for arg in args:
        if arg in wanted:
            continue
        key, eq, value = arg.partition("=")
        if not eq or key not in CHANGEABLE:
            raise MnistcliError(
                f"resume continues a run with the config stored in it; only {' and '.join(CHANGEABLE)} may be "
                f"given with it, not '{arg}'"
            )
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            overrides[key] = value  # validate() names it as a bad value
    return Path(folder), overrides


def _original_command(run_dir: Path) -> str:
    import yaml

    with suppress(OSError, yaml.YAMLError, TypeError):
        overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")) or []
        return " ".join(["mnistcli train", *map(str, overrides)])
    return "mnistcli train ..."


def resume_config(run_dir: Path, overrides: dict) -> dict:
    """The run's own composed config (from its metrics.json) with the allowed overrides applied."""
    from mnistcli.training import checkpoint

    if not run_dir.is_dir():
        raise MnistcliError(f"run folder {run_dir} does not exist")
    if not (run_dir / METRICS_FILE).is_file():
        raise MnistcliError(f"{run_dir} has no {METRICS_FILE} - not an mnistcli run folder")
    stored = read_record(run_dir)
    if stored.status == "completed":
        n = stored.epochs_run
        raise MnistcliError(
            f"{run_dir} already completed ({n} epoch{'' if n == 1 else 's'}); nothing to resume - "
            "train a new run to train longer"
        )
    if not checkpoint.exists(run_dir):
        raise MnistcliError(
            f"{run_dir} has no checkpoint to resume from (it stopped before its first epoch ended); "
            f"start it again: {_original_command(run_dir)}"
        )
    cfg = copy.deepcopy(stored.config)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        cfg[section][name] = value
    done = checkpoint.epochs_done(run_dir)
    epochs = cfg["train"]["epochs"]
    if isinstance(epochs, int) and not isinstance(epochs, bool) and 0 < epochs < done:
        raise MnistcliError(f"train.epochs={epochs} is fewer than the {done} epochs {run_dir} has already trained")
    return cfg


def remove_temporaries(run_dir: Path) -> None:
    """Delete the hidden temporary files of writes a killed process never finished (rundir.atomic_write's)."""
    for path in Path(run_dir).iterdir():
        if path.is_file() and path.name.startswith(".") and ".tmp" in path.name:
            path.unlink(missing_ok=True)


def resumed_record(run_dir: Path, cfg: dict, data_info: dict, versions: dict, epochs_done: int) -> RunRecord:
    """The run's record, reopened for a resumed run after checking the data is the same."""
    from mnistcli import report

    stored = read_record(run_dir)
    before = (stored.data or {}).get("files") or {}
    current = data_info["files"]
    changed = sorted(set(before) ^ set(current) | {p for p in before if current.get(p) != before[p]})
    if changed:
        raise MnistcliError(
            f"the data changed since {run_dir} started ({changed[0]} is different or missing); resuming would "
            "mix two datasets - restore the original files or train a new run"
        )
    if stored.versions and stored.versions != versions:
        report.warning(
            f"versions differ from the run's start ({stored.versions} now {versions}): "
            "the result may not match an uninterrupted run exactly"
        )
    remove_temporaries(run_dir)
    resumed = [*stored.resumed, {"at": now(), "after_epoch": epochs_done, "versions": versions}]
    return stored.replace(
        status="running", config=cfg, error=None, interrupted_at=None, resume_with=None, resumed=resumed,
        pid=os.getpid(), host=platform.node(),
    )


def mark_interrupted(run_dir: Path, record: RunRecord, exc: BaseException) -> KeyboardInterrupt:
    """Record in metrics.json where training stopped; returns the Interrupted to raise, with how to resume."""
    from mnistcli.training import checkpoint
    from mnistcli.training.interrupts import Interrupted

    done = checkpoint.epochs_done(run_dir)
    total = record.config["train"]["epochs"]
    where = shown(run_dir)
    record = record.replace(
        status="interrupted", interrupted_at=now(), epochs_run=done,
        resume_with=f"mnistcli train resume={where}" if done else None,
    )
    with suppress(MnistcliError, OSError):  # a full disk: the run stays "running", its checkpoint still valid
        write_record(run_dir, record)
    signum = getattr(exc, "signum", signal.SIGINT)
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    if done:
        message = f"{how} after epoch {done} of {total}; resume with: mnistcli train resume={where}"
    else:
        message = f"{how} before the first epoch ended; nothing to resume ({where} is marked interrupted)"
    return Interrupted(message, signum)
