"""`slipstream dashboard RUN [RUN ...]`: live web page of training runs (charts, cars, log)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from slipstream.viz.dashboard import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument(
        "runs",
        metavar="RUN",
        nargs="+",
        help="run folder(s): a path or s3://bucket/prefix; several are shown side by side",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only). Any other "
        "address (e.g. 0.0.0.0) requires the access token printed at start",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="access token to require (default: a random one when --host is not loopback)",
    )


def run(args: argparse.Namespace) -> int:
    import socket

    from slipstream.viz.dashboard import DashboardError, make_server

    try:
        server, token = make_server(args.runs, args.host, args.port, args.token)
    except DashboardError as err:
        print(f"slipstream dashboard: {err}", file=sys.stderr)
        return 2
    try:
        sock = server.config.bind_socket()
    except (OSError, SystemExit) as err:
        print(
            f"slipstream dashboard: cannot listen on {args.host}:{args.port} ({err}); "
            "pick another --port",
            file=sys.stderr,
        )
        return 2
    host, port = sock.getsockname()[:2]
    shown = host if sock.family != socket.AF_INET6 else f"[{host}]"
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    runs = ", ".join(args.runs)
    print(f"dashboard of {runs} at {url}  (Ctrl-C to stop)", flush=True)
    if token:
        print(
            f"listening on {args.host}: anyone who can reach this address and has the token "
            "sees the runs (read-only)",
            flush=True,
        )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
