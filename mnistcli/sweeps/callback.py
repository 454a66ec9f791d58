"""The Hydra callback that prepares each sweep job's process, and prints the sweep's summary where it was started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from mnistcli.runtime.tf_workarounds import limit_malloc_arenas


class SweepCallback(Callback):
    """Hydra callback (conf/config.yaml, hydra.callbacks): prepares each sweep job's process, and tabulates the
    sweep where it was started once every job is over, whatever the launcher. With logger=mlflow, the sweep is
    one MLflow parent run, opened here before the first job and closed after the last."""

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        from omegaconf import OmegaConf

        settings = OmegaConf.select(config, "logger.mlflow")
        if settings is None:
            return
        from mnistcli.errors import MnistcliError
        from mnistcli.tracking.mlflow_sweep import start_parent

        try:
            start_parent(
                Path(str(config.hydra.sweep.dir)), OmegaConf.to_container(settings, resolve=True),
                list(config.hydra.overrides.task),
            )
        except MnistcliError as exc:  # MLflow missing, or its store out of reach: no job could log
            from mnistcli import report

            report.error(str(exc))
            # Hydra would turn an Exception raised here into a warning and launch every job anyway.
            raise SystemExit(2) from None

    def on_job_start(self, config, **kwargs: Any) -> None:
        from hydra.types import RunMode

        if config.hydra.mode == RunMode.MULTIRUN:  # a single run's process ends with its job
            limit_malloc_arenas()

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        from mnistcli import report
        from mnistcli.sweeps.summary import summarize_sweep

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            summary = summarize_sweep(sweep_dir)
        except Exception as exc:  # the jobs' results are on disk; a summary bug must not hide them
            if os.environ.get("MNISTCLI_DEBUG"):
                raise
            from mnistcli.errors import one_line

            report.warning(f"no summary for {sweep_dir}: {type(exc).__name__}: {one_line(exc)}")
            summary = None
        self._end_mlflow_parent(sweep_dir, summary)
        if summary is not None:
            report.sweep_summary(summary)

    @staticmethod
    def _end_mlflow_parent(sweep_dir: Path, summary: dict | None) -> None:
        from mnistcli.tracking.mlflow_sweep import PARENT_FILE, end_parent

        if not (sweep_dir / PARENT_FILE).is_file():
            return
        try:
            end_parent(sweep_dir, summary)
        except Exception as exc:  # the jobs' runs are logged; a parent left open must not hide the summary
            from mnistcli import report
            from mnistcli.errors import one_line

            report.warning(f"MLflow: the sweep's parent run was not closed: {one_line(exc)[:300]}")
