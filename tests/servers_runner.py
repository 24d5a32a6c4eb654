"""Serve examples/stack.py with a server that has no command line of its own.

    python tests/servers_runner.py wsgiref PORT    # wsgiref.simple_server.make_server
    python tests/servers_runner.py cheroot PORT    # cheroot.wsgi.Server, 4 threads

Used by tests/test_servers.py (with PYTHONPATH=examples); both listen on 127.0.0.1. SIGTERM
stops the server cleanly, so the interpreter exits normally and Logger's file sink is flushed
at exit.
"""

from __future__ import annotations

import signal
import sys
from socketserver import ThreadingMixIn
from types import FrameType
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from stack import application


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """make_server's server with one thread per connection, so that concurrent clients are
    served concurrently (the plain WSGIServer serves one connection at a time)."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    """No access log of wsgiref's own: Logger writes it."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_wsgiref(port: int) -> None:
    server = make_server(
        "127.0.0.1",
        port,
        application,
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    with server:
        try:
            server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass


def serve_cheroot(port: int) -> None:
    from cheroot import wsgi

    server = wsgi.Server(("127.0.0.1", port), application, numthreads=4)
    try:
        server.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    {"wsgiref": serve_wsgiref, "cheroot": serve_cheroot}[name](port)


if __name__ == "__main__":
    main()
