"""The report layer, the only one that renders: Rich output for the terminal, matplotlib plots for the run folder.

`from mnistcli import report` gives the renderers the other layers call; plots and the live progress display
(which need matplotlib and Keras) are imported from their own modules where they are used.
"""

from mnistcli.report.console import busy, console, data_warning, err_console, error, next_steps, warning
from mnistcli.report.predictions import predictions
from mnistcli.report.serving import serving, stopped
from mnistcli.report.tables import runs_table, sweep_job, sweep_summary
from mnistcli.report.training import data_ready, metrics_report, model_ready, run_failed, run_finished, run_header

__all__ = [
    "busy", "console", "data_warning", "err_console", "error", "next_steps", "warning", "predictions", "runs_table",
    "sweep_job", "sweep_summary", "data_ready", "metrics_report", "model_ready", "run_failed", "run_finished",
    "run_header", "serving", "stopped",
]
