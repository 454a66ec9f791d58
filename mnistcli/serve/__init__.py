"""The web layer: `mnistcli serve`'s FastAPI app (app.py), its page (page/), its runs (runs.py) and server (server.py)."""
