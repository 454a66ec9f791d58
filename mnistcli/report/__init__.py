"""The report layer, the only one that renders: Rich output for the terminal, matplotlib plots for the run folder.

`from mnistcli import report` gives the renderers the other layers call; plots and the live progress display
(which need matplotlib and Keras) are imported from their own modules where they are used.
"""

from mnistcli.report.console import console, data_warning, err_console, error, warning
from mnistcli.report.predictions import predictions
from mnistcli.report.serving import serving, stopped
from mnistcli.report.tables import runs_table, sweep_job, sweep_summary
from mnistcli.report.training import metrics_report, run_header

__all__ = [
    "console", "data_warning", "err_console", "error", "warning", "predictions", "runs_table", "sweep_job",
    "sweep_summary", "metrics_report", "run_header", "serving", "stopped",
]
