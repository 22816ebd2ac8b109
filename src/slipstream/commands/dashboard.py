"""`slipstream dashboard RUN`: a live web page of a training run's plots and numbers."""

from __future__ import annotations

import argparse
import sys

HELP = "Live web dashboard of a training run."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from slipstream.viz.dashboard import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument("run", metavar="RUN", help="run folder: a path or s3://bucket/prefix")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
        "0.0.0.0 shows it to your network)",
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.viz.dashboard import make_server

    try:
        server = make_server(args.run, args.host, args.port)
    except OSError as err:
        print(
            f"slipstream dashboard: cannot listen on {args.host}:{args.port} ({err}); "
            "pick another --port",
            file=sys.stderr,
        )
        return 2
    host, port = server.server_address[:2]
    print(f"dashboard of {args.run} at http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
