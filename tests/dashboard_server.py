"""Test helper: a real uvicorn dashboard server in a background thread."""

from __future__ import annotations

import contextlib
import threading
import time

from slipstream.viz.dashboard import make_server


@contextlib.contextmanager
def running_dashboard(runs, host="127.0.0.1", token=None):
    """Yield (base URL, server, token) of a dashboard serving ``runs`` on a free port."""
    server, token = make_server([str(r) for r in runs], host, 0, token)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("dashboard server did not start")
        time.sleep(0.02)
    sock = server.servers[0].sockets[0]
    bound_host, port = sock.getsockname()[:2]
    try:
        yield f"http://{bound_host}:{port}", server, token
    finally:
        server.should_exit = True
        thread.join(timeout=10)
