"""Sweeps (`mnistcli train -m`): each job's end, twin jobs, and the summary a finished sweep leaves behind."""
