"""Live web dashboard of a run: stdlib `http.server`, no extra packages.

Routes:
    ``/``                    HTML page (reloads itself every few seconds): table + plots
    ``/plots/<name>.png``    one plot of `slipstream.viz.plots.PLOT_NAMES`
    ``/api/summary``         JSON: per-iteration numbers (`summary_dict`)

The run folder is re-read, and the plots redrawn, only when its metrics or simtrace files
change (name, size and modification time; see `files_signature`).
"""

from __future__ import annotations

import html
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slipstream.runs import RunStorage
from slipstream.viz.plots import PLOT_NAMES, render_plots
from slipstream.viz.summary import (
    AnalyzeError,
    RunData,
    files_signature,
    format_table,
    load_run,
    summary_dict,
)

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
REFRESH_SECONDS = 5


class DashboardState:
    """The run's data and plots, rebuilt when its files change (thread-safe)."""

    def __init__(self, run: str | RunStorage) -> None:
        self.storage = run if isinstance(run, RunStorage) else RunStorage(str(run))
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self.data: RunData | None = None
        self.plots: dict[str, bytes] = {}
        self.error: str | None = None
        self.version = 0

    def refresh(self) -> None:
        """Reload the run and redraw the plots if its files changed since the last call."""
        with self._lock:
            signature = files_signature(self.storage)
            if signature == self._signature:
                return
            try:
                data = load_run(self.storage)
            except AnalyzeError as err:
                self.data, self.plots, self.error = None, {}, str(err)
            else:
                self.data, self.plots, self.error = data, render_plots(data), None
            self._signature = signature
            self.version += 1

    def summary(self) -> dict:
        if self.data is None:
            return {"run": self.storage.root, "error": self.error, "iterations": []}
        return summary_dict(self.data)

    def page(self) -> str:
        title = html.escape(self.storage.root)
        head = (
            f"<!doctype html><html><head><meta charset='utf-8'>"
            f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>"
            f"<title>slipstream: {title}</title><style>body{{font-family:sans-serif;"
            f"margin:1em}} img{{max-width:100%;display:block;margin:1em 0}}"
            f"pre{{background:#f4f4f4;padding:.5em}}</style></head><body>"
            f"<h2>Slipstream run {title}</h2>"
        )
        if self.data is None:
            body = f"<p>Waiting for training metrics: {html.escape(self.error or '')}</p>"
        else:
            d = self.data
            body = (
                f"<p>{d.num_workers} worker(s), {d.episodes_per_iteration} episode(s) per "
                f"iteration per worker, track {html.escape(d.world_name or '?')}, "
                f"{len(d.iterations)} iteration(s). <a href='/api/summary'>JSON</a></p>"
                f"<pre>{html.escape(format_table(d.iterations))}</pre>"
            )
            body += "".join(
                f"<img src='/plots/{name}.png?v={self.version}' alt='{name}'>"
                for name in PLOT_NAMES
                if name in self.plots
            )
        return head + body + "</body></html>"


def _handler(state: DashboardState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                state.refresh()
            except Exception as err:  # keep serving; say what broke
                logger.exception("dashboard refresh failed")
                self._send(500, "text/plain; charset=utf-8", f"refresh failed: {err}".encode())
                return
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", state.page().encode())
            elif path == "/api/summary":
                self._send(200, "application/json", json.dumps(state.summary()).encode())
            elif path.startswith("/plots/") and path.endswith(".png"):
                png = state.plots.get(path[len("/plots/") : -len(".png")])
                if png is None:
                    self._send(404, "text/plain", b"no such plot (yet)")
                else:
                    self._send(200, "image/png", png)
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("dashboard: " + format, *args)

    return Handler


def make_server(
    run: str | RunStorage, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """An HTTP server for the run's dashboard, bound but not yet serving (port 0: any free).

    Call ``serve_forever()`` (e.g. in a thread), then ``shutdown()`` and ``server_close()``.
    """
    server = ThreadingHTTPServer((host, int(port)), _handler(DashboardState(run)))
    server.daemon_threads = True
    return server
