"""Every wsgi_mw middleware in one stack, the app that tests/test_servers.py runs under real
servers (wsgiref, gunicorn, waitress, uWSGI, granian, cheroot; docs/servers.md).

    application = Logger(Gzip(Cache(Rewrite(Router(...), [("Hello", "Goodbye")]))))

Routes (anything else is Router's 404; a wrong method on a routed path its 405 with Allow):

- ``GET /``: an HTML page that says "Hello" many times; Rewrite turns each into "Goodbye",
  Gzip compresses it for clients that accept gzip. ``Cache-Control: no-store``.
- ``GET /cached``: a small JSON document with ``Cache-Control: max-age=60``; it carries a
  render counter, so a second GET answered by Cache (``X-Cache: HIT``) has the same body.
- ``GET /only-get``: a plain-text page for GET (and HEAD) only: POST gets a 405.
- ``GET /stream?gate=NAME``: server-sent events from a generator. After the first event it
  waits (at most ``GATE_TIMEOUT`` seconds) until the file ``NAME`` exists in the directory
  ``$WSGI_MW_STACK_GATES``, then sends the last event, saying ``released`` or ``timeout``. A
  client that creates the file after reading the first event, and then reads ``released``,
  has proved the first chunk reached it while the app had not yielded the last one.
  Without ``$WSGI_MW_STACK_GATES`` or ``gate`` there is no wait.
- ``GET /big``: 1 MiB of binary data (``bytes(range(256)) * 4096``) in 16 chunks with its
  Content-Length; not compressed (not a text type), not cached (``no-store``).

The access log goes to the file named by ``$WSGI_MW_STACK_LOG`` (combined format), else to the
``wsgi_mw.access`` logger.

Run it under any WSGI server, e.g.:
    .venv/bin/gunicorn --chdir examples stack:application
    .venv/bin/python examples/stack.py      (wsgiref on 127.0.0.1:8000, WSGI_MW_STACK_PORT)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# The page at "/": well above Gzip's min_size, with "Hello" for Rewrite to replace.
HELLO_PAGE = b"<!doctype html>\n<title>Hello</title>\n<h1>Hello world</h1>\n" + b"".join(
    b"<p>Hello paragraph %d.</p>\n" % i for i in range(40)
)
ONLY_GET_BODY = b"Hello, GET only.\n"
BIG_CHUNK = bytes(range(256)) * 256  # 64 KiB
BIG_CHUNKS = 16  # 1 MiB in all
STREAM_FIRST = b"data: first\n\n"
# The longest the stream waits for its gate file: a bound, not a pace (the client releases it).
GATE_TIMEOUT = 10.0
GATE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

router = Router()
_renders = itertools.count(1)
_renders_lock = threading.Lock()


def _query(environ: Environ, name: str) -> str | None:
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else None


@router.route("/")
def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", HTML), ("Cache-Control", "no-store")])
    return [HELLO_PAGE]


@router.route("/cached")
def cached(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    with _renders_lock:
        render = next(_renders)
    body = json.dumps({"greeting": "Hello", "render": render, "pid": os.getpid()}).encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Cache-Control", "max-age=60"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


@router.route("/only-get")
def only_get(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(ONLY_GET_BODY)))])
    return [ONLY_GET_BODY]


def _wait_for_gate(environ: Environ) -> bytes:
    """Wait until the gate file exists; b"released", b"timeout" or b"none" (no gate)."""
    directory = os.environ.get("WSGI_MW_STACK_GATES")
    name = _query(environ, "gate")
    if not directory or name is None or not GATE_NAME.fullmatch(name):
        return b"none"
    path = os.path.join(directory, name)
    deadline = time.monotonic() + GATE_TIMEOUT
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            return b"timeout"
        time.sleep(0.005)
    return b"released"


@router.route("/stream")
def stream(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    # start_response before returning the generator: granian reads the head only then
    # (docs/servers.md); the body is still produced lazily, chunk by chunk.
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")])

    def events() -> Iterator[bytes]:
        yield STREAM_FIRST
        outcome = _wait_for_gate(environ)
        yield b"data: last " + outcome + b"\n\n"

    return events()


@router.route("/big")
def big(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(BIG_CHUNK) * BIG_CHUNKS)),
            ("Cache-Control", "no-store"),
        ],
    )
    return (BIG_CHUNK for _ in range(BIG_CHUNKS))


# Logger outermost: it logs what went out. Gzip outside Cache: one stored copy per URL,
# compressed per response. Rewrite inside Cache: a hit is served already rewritten.
application = Logger(
    Gzip(Cache(Rewrite(router, [("Hello", "Goodbye")]))),
    sink=os.environ.get("WSGI_MW_STACK_LOG") or None,
)


def main() -> None:
    port = int(os.environ.get("WSGI_MW_STACK_PORT", "8000"))
    print(f"Serving {application!r} on http://127.0.0.1:{port}/  (Ctrl-C to stop)")
    with make_server("127.0.0.1", port, application) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
