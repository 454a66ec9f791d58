"""Run folders: the one write primitive, the run record (metrics.json), and finding and listing runs."""
