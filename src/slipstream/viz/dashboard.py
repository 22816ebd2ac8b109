"""Live web dashboard of one or more runs: a Starlette app served by uvicorn.

Routes (all GET; the app changes nothing in a run folder):
    ``/``                              the page (Plotly charts, live cars, log, inputs)
    ``/static/<name>``                 the page's script and style, and Plotly's plotly.min.js
                                       from the installed ``plotly`` package (nothing from a CDN)
    ``/api/runs``                      the runs shown: ``[{"id": 0, "run": ROOT}, ...]``
    ``/api/snapshot``                  every run's series and panels (`RunFeed.snapshot`)
    ``/api/events``                    server-sent events: a snapshot whenever a run changes
    ``/api/live/<run>/<worker>``       server-sent events: that worker's camera image and top-down
                                       view while the page watches (`slipstream.runs.live`)
    ``/files/<run>/<key>``             a file inside run folder ``<run>`` (no ``..``, absolute,
                                       backslash or percent-encoded keys, no symlinks out of it)

Safe by default: `serve` binds 127.0.0.1 and then accepts only ``Host: 127.0.0.1``/``localhost``
(no DNS rebinding); any other ``--host`` needs the token printed at start (``?token=`` once, then
a cookie).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import mimetypes
import os
import secrets
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from slipstream.runs import RunStorage
from slipstream.runs.live import FrameWatcher, live_dir
from slipstream.viz.feed import RunFeed

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
POLL_S = 1.0
"""Shortest interval between two reads of a local run folder."""
REMOTE_POLL_S = 5.0
"""... and of a run folder on an object store (each read is a few requests)."""
FRAME_POLL_S = 0.04
TOUCH_EVERY_S = 1.0
HEARTBEAT_S = 15.0
TOKEN_COOKIE = "slipstream_dashboard_token"
STATIC_FILES = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}
MAX_REMOTE_FILE_BYTES = 64 * 1024 * 1024
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]


class DashboardError(ValueError):
    """Settings the dashboard cannot start with (the message says how to fix them)."""


class PathRefused(ValueError):
    """A requested file path that could leave the run folder."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key(key: str) -> str:
    """``key`` as a run-folder key, or `PathRefused`: no absolute paths, no ``.``/``..`` or empty
    parts, no backslashes, NUL or ``%`` (a still-encoded path)."""
    if not key or key.startswith("/") or any(c in key for c in "\\%\x00:"):
        raise PathRefused(f"refused path {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise PathRefused(f"refused path {key!r}")
    return key


def plotly_js() -> Path:
    """plotly.min.js of the installed plotly package."""
    try:
        import plotly
    except ImportError as err:
        raise DashboardError(
            "the dashboard needs plotly, starlette and uvicorn: pip install 'slipstream[dashboard]'"
        ) from err
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise DashboardError(f"{path} is missing; reinstall plotly (pip install --force plotly)")
    return path


class Dashboard:
    """The runs shown and their feeds; polls them at most every `POLL_S` seconds."""

    def __init__(self, runs: Sequence[str | RunStorage]) -> None:
        if not runs:
            raise DashboardError("give at least one run folder")
        self.feeds = [RunFeed(run) for run in runs]
        self._lock = threading.Lock()
        self._due = [0.0] * len(self.feeds)
        self.version = 0

    def poll(self) -> int:
        """Read new data of every run whose interval (`POLL_S`, `REMOTE_POLL_S`) passed;
        returns a version that changes whenever any run changed."""
        with self._lock:
            now = time.monotonic()
            for i, feed in enumerate(self.feeds):
                if now < self._due[i]:
                    continue
                self._due[i] = now + (POLL_S if feed.storage.is_local else REMOTE_POLL_S)
                if feed.poll():
                    self.version += 1
            return self.version

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "runs": [dict(feed.snapshot(), id=i) for i, feed in enumerate(self.feeds)],
        }

    def feed(self, run_id: str) -> RunFeed | None:
        try:
            index = int(run_id)
        except ValueError:
            return None
        return self.feeds[index] if 0 <= index < len(self.feeds) else None


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


class TokenGate:
    """ASGI middleware: every request needs the token (``?token=`` sets a cookie)."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse

        request = Request(scope)
        given = request.query_params.get("token", "")
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        if given and secrets.compare_digest(given, self.token):
            cookie_header = (
                f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            ).encode()

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"set-cookie", cookie_header)]
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        if cookie and secrets.compare_digest(cookie, self.token):
            return await self.app(scope, receive, send)
        response = PlainTextResponse(
            "this dashboard needs its token: open the address `slipstream dashboard` printed "
            "(it ends in ?token=...)",
            status_code=403,
        )
        return await response(scope, receive, send)


def create_app(
    runs: Sequence[str | RunStorage],
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
):
    """The dashboard's ASGI app. ``token``: required on every request when given;
    ``allowed_hosts``: accepted ``Host`` headers (None: any)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import (
        FileResponse,
        JSONResponse,
        PlainTextResponse,
        Response,
        StreamingResponse,
    )
    from starlette.routing import Route

    dashboard = Dashboard(runs)
    plotly_path = plotly_js()
    static = resources.files("slipstream.viz") / "static"
    page = (static / "dashboard.html").read_text(encoding="utf-8")
    no_store = {"Cache-Control": "no-store"}
    sse_headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=no_store)

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(plotly_path, media_type="text/javascript")
        if name not in STATIC_FILES:
            return PlainTextResponse("not found", status_code=404)
        text = (static / name).read_text(encoding="utf-8")
        return Response(text, media_type=STATIC_FILES[name], headers=no_store)

    async def api_runs(request: Request) -> Response:
        return JSONResponse(
            [{"id": i, "run": f.storage.root} for i, f in enumerate(dashboard.feeds)]
        )

    async def api_snapshot(request: Request) -> Response:
        await asyncio.to_thread(dashboard.poll)
        return JSONResponse(dashboard.snapshot(), headers=no_store)

    async def api_events(request: Request) -> Response:
        async def stream():
            sent, beat = -1, time.monotonic()
            while not await request.is_disconnected():
                version = await asyncio.to_thread(dashboard.poll)
                if version != sent:
                    sent = version
                    beat = time.monotonic()
                    yield _sse(await asyncio.to_thread(dashboard.snapshot))
                elif time.monotonic() - beat > HEARTBEAT_S:
                    beat = time.monotonic()
                    yield ": heartbeat\n\n"
                await asyncio.sleep(POLL_S / 2)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=sse_headers)

    async def api_live(request: Request) -> Response:
        feed = dashboard.feed(request.path_params["run"])
        worker = request.path_params["worker"]
        if feed is None or not worker.isdigit() or int(worker) > 1024:
            return PlainTextResponse("no such run or worker", status_code=404)
        watcher = FrameWatcher(live_dir(feed.storage.root), int(worker))

        async def stream():
            touched = 0.0
            beat = time.monotonic()
            while not await request.is_disconnected():
                now = time.monotonic()
                if now - touched >= TOUCH_EVERY_S:
                    await asyncio.to_thread(watcher.touch)
                    touched = now
                frame = await asyncio.to_thread(watcher.latest)
                if frame is not None:
                    beat = now
                    yield _sse(
                        {
                            "stamp": frame.stamp,
                            "camera": base64.b64encode(frame.camera).decode()
                            if frame.camera
                            else None,
                            "topdown": base64.b64encode(frame.topdown).decode()
                            if frame.topdown
                            else None,
                        }
                    )
                elif now - beat > HEARTBEAT_S:
                    beat = now
                    yield ": heartbeat\n\n"
                await asyncio.sleep(FRAME_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=sse_headers)

    async def run_file(request: Request) -> Response:
        feed = dashboard.feed(request.path_params["run"])
        if feed is None:
            return PlainTextResponse("no such run", status_code=404)
        try:
            key = check_key(request.path_params["key"])
        except PathRefused as err:
            return PlainTextResponse(str(err), status_code=400)
        storage = feed.storage
        path = storage.path(key)
        headers = {
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }
        kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/json", "application/x-yaml"):
            kind = "text/plain; charset=utf-8"
        if kind == "text/plain; charset=utf-8" and key.endswith(".html"):
            kind = "text/html; charset=utf-8"  # sandboxed by the CSP above: no script runs
        if storage.is_local:
            real_root = os.path.realpath(storage.root)
            real = os.path.realpath(path)
            if not real.startswith(real_root + os.sep) or not os.path.isfile(real):
                return PlainTextResponse("not found", status_code=404)
            return FileResponse(real, media_type=kind, headers=headers)
        try:
            if storage.fs.size(path) > MAX_REMOTE_FILE_BYTES:
                return PlainTextResponse("file too large to show", status_code=413)
            data = await asyncio.to_thread(storage.read_bytes, key)
        except (FileNotFoundError, OSError, IsADirectoryError):
            return PlainTextResponse("not found", status_code=404)
        return Response(data, media_type=kind, headers=headers)

    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    if token:
        middleware.append(Middleware(TokenGate, token=token))
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static_file),
            Route("/api/runs", api_runs),
            Route("/api/snapshot", api_snapshot),
            Route("/api/events", api_events),
            Route("/api/live/{run}/{worker}", api_live),
            Route("/files/{run}/{key:path}", run_file),
        ],
        middleware=middleware,
    )
    app.state.dashboard = dashboard
    return app


def make_server(
    runs: Sequence[str | RunStorage],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
):
    """A uvicorn server of the dashboard (not started), and the token (None on loopback).

    Beyond loopback a token is required: the one given, or a new random one.
    """
    import uvicorn

    loopback = is_loopback(host)
    if not loopback and not token:
        token = secrets.token_urlsafe(18)
    hosts = sorted({*LOOPBACK_HOSTS, host}) if loopback else None
    app = create_app(runs, token=token, allowed_hosts=hosts)
    config = uvicorn.Config(
        app,
        host=host,
        port=int(port),
        log_level="warning",
        timeout_graceful_shutdown=2,
        access_log=False,
    )
    return uvicorn.Server(config), token
