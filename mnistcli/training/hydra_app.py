"""`mnistcli train`'s entry point: the command line to Hydra (or to a resume), each composed job to train()."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import suppress
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not for users

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from mnistcli import report  # noqa: E402
from mnistcli.config import command_line  # noqa: E402
from mnistcli.config.groups import check_choices  # noqa: E402
from mnistcli.errors import MnistcliError, one_line  # noqa: E402
from mnistcli.runs.rundir import METRICS_FILE  # noqa: E402
from mnistcli.sweeps import jobs  # noqa: E402
from mnistcli.training.pipeline import record_failure, train  # noqa: E402

_failures: list[BaseException] = []


@hydra.main(version_base="1.3", config_path="pkg://mnistcli.conf", config_name="config")
def hydra_main(cfg: DictConfig):
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    plain = OmegaConf.to_container(cfg, resolve=False)  # what a failure record shows if resolving fails
    try:
        # Inside the try: a bad value for an interpolation (e.g. search.layers=5) fails this job, not the sweep.
        plain = OmegaConf.to_container(cfg, resolve=True)
        check_choices(hc.runtime.choices, OmegaConf.to_container(hc.runtime.config_sources))
        # In a sweep, a job with the same settings as a finished one reuses its result (sweeps/jobs.py).
        record = (multirun and jobs.reuse_twin(plain, run_dir)) or train(plain, run_dir)
    except KeyboardInterrupt:
        # Not caught as a failure: an interrupt stops a whole sweep. train() has marked the run interrupted.
        _discard(run_dir)
        raise
    except Exception as exc:
        if multirun:
            # One bad job must not stop a sweep: record it and let the launcher go on.
            report.error(f"job {hc.job.num} failed: {one_line(exc)}")
            return jobs.job_end(hc.job.num, record_failure(run_dir, plain, exc))
        from mnistcli.training.interrupts import RunInUse

        if isinstance(exc, RunInUse):
            pass  # the folder belongs to another process: leave it alone
        elif (run_dir / METRICS_FILE).exists():
            with suppress(MnistcliError, OSError):  # a full disk must not hide the error that stopped the run
                record_failure(run_dir, plain, exc)
        else:
            _discard(run_dir)
        # Raised by run() once Hydra has returned: raising through Hydra adds its own stderr line.
        _failures.append(exc)
        return None
    if multirun:  # one line per job, the table at the end; returns the objective a sweeper maximises
        return jobs.job_end(hc.job.num, record)
    report.metrics_report({**record.to_dict(), "run_dir": str(run_dir)})
    report.next_steps(str(run_dir), record.config.get("logger") or ())
    return record


def run(args: list[str]) -> None:
    """Hand the command line after `mnistcli train` to Hydra, with errors raised rather than printed.

    `resume=RUN_FOLDER` bypasses Hydra: the run folder already holds the composed config.
    Ctrl-C and SIGTERM raise interrupts.Interrupted throughout.
    """
    from mnistcli.training.interrupts import signals_interrupt

    with signals_interrupt():
        if resume_from_args(args):
            return
        command_line.check_flags(args)
        if "--hydra-help" in args:  # Hydra's own would advertise its shell completion, which cannot work here
            report.console.print(command_line.HYDRA_HELP, markup=False, highlight=False, soft_wrap=True)
            return
        os.environ["HYDRA_FULL_ERROR"] = "1"  # the CLI turns Hydra's errors into one line itself
        sys.argv = ["mnistcli train", *args]
        _failures.clear()
        try:
            _hydra_main_closing_sweeps()
        except OSError as e:
            if type(e).__module__.startswith("hydra."):  # MissingConfigException: a config group option not found
                raise command_line.explain(e, args) or e from None
            # Our task catches its own errors, so this is Hydra creating the run folder or its .hydra files.
            raise MnistcliError(f"cannot write the run folder: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from None
        except ValueError as e:
            if str(e).startswith("Only one of --run"):  # Hydra's own check of its flags
                raise MnistcliError(f"{e} (mnistcli train --help shows them)") from None
            if "No trials are completed" not in str(e):
                raise
            # Optuna asks for the best trial after its last one; when every trial failed there is none.
            raise MnistcliError("every trial of the search failed (their errors are above); nothing to report") from None
        except Exception as e:
            if type(e).__module__.startswith("hydra."):
                raise command_line.explain(e, args) or e from None
            raise
        if _failures:
            raise _failures.pop()


def _hydra_main_closing_sweeps() -> None:
    """hydra_main(); a sweep that stops before Hydra's on_multirun_end (its launcher or sweeper failing, an
    interrupt) has its MLflow parent run closed as FAILED or KILLED, not left running."""
    try:
        hydra_main()
    except BaseException as exc:
        from mnistcli.tracking.mlflow_sweep import abort_open_parents

        abort_open_parents(interrupted=isinstance(exc, KeyboardInterrupt))
        raise


def resume_from_args(args: list[str]) -> bool:
    """Run `mnistcli train resume=...` when that is what args ask for; False when they ask for a normal run."""
    from mnistcli.training.resume import parse_args, resume_config

    parsed = parse_args(args)
    if parsed is None:
        return False
    run_dir, overrides = parsed
    cfg = resume_config(run_dir, overrides)
    record = train(cfg, run_dir, resume=True)
    report.metrics_report({**record.to_dict(), "run_dir": str(run_dir)}, "resumed")
    report.next_steps(str(run_dir), record.config.get("logger") or ())
    return True


def _discard(run_dir: Path) -> None:
    """Remove a run folder that failed before any of its own artifacts: bad input leaves nothing behind."""
    if not (run_dir / METRICS_FILE).exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        for parent in run_dir.parents:
            if parent.name in ("outputs", "") or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()
