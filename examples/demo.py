"""`make demo`: a small site wrapped in six wsgi_mw middlewares, on wsgiref.

Logger(Static(Cache(Compress(Rewrite(Router(...)))))): Static serves examples/static/ under
/static/ (validators, ranges, a precompressed .gz sibling, a year's lifetime for the hashed
bundle); Router dispatches by method and path the way the
seed's hello.py did by hand (GET / with a sign-in form, POST /sign, 405 with Allow for a wrong
method, 404 for other paths); "Hello" becomes "Goodbye" in text responses, streamed bodies
included; text is compressed with zstd, brotli or gzip, whichever the client prefers (images
pass through both untouched); repeated GETs are answered from memory (X-Cache: HIT), one stored variant per
accepted encoding; and every request gets one combined-format access log line on stdout once
its response ended. Set WSGI_MW_DEMO_PORT to use another port than 8000.
"""

from __future__ import annotations

import html
import os
import pathlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from wsgi_mw import Cache, Compress, Logger, Rewrite, Router, Static

STATIC_ROOT = pathlib.Path(__file__).resolve().parent / "static"

# A 1x1 transparent PNG: binary, never rewritten.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


router = Router()

# A sign-in form is a few dozen bytes: refuse to read more than this from a client.
MAX_FORM_BYTES = 64 * 1024


def page(start_response: Callable[..., Any], status: str, html_text: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "text/html; charset=utf-8")])
    return [html_text.encode("utf-8")]


@router.route("/", name="home")
def home(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The home page: Hello text (rewritten), a list long enough to compress, a form."""
    action = html.escape(environ.get("SCRIPT_NAME", "") + router.url_for("sign"))
    items = "".join(f"<li>Hello item {i}</li>" for i in range(40))
    return page(
        start_response,
        "200 OK",
        '<link rel="stylesheet" href="/static/css/demo.css">'
        '<script src="/static/js/app.3f2a9c1d.js"></script>'
        "<h1>Hello world</h1><p>Hello from the demo app.</p>"
        f'<form method="post" action="{action}"><label>Your name <input name="name" required>'
        f"</label> <button>Sign in</button></form><ul>{items}</ul>\n",
    )


@router.route("/sign", methods=("POST",), name="sign")
def sign(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The form's target: a POST, never cached (Cache stores GET responses only)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= MAX_FORM_BYTES:
        return page(start_response, "400 Bad Request", "<p>Bad form.</p>\n")
    form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
    name = form.get("name", [""])[0].strip()
    if not name:
        return page(start_response, "400 Bad Request", "<p>Please tell us your name.</p>\n")
    return page(start_response, "200 OK", f"<p>Hello, {html.escape(name)}! You are in.</p>\n")


@router.route("/data.json")
def data(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"greeting": "Hello"}\n']


@router.route("/stream")
def streamed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return stream(start_response)


@router.route("/events")
def events(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return event_stream(start_response)


@router.route("/pixel.png")
def pixel(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(PIXEL)))])
    return [PIXEL]


def stream(start_response: Callable[..., Any]) -> Iterator[bytes]:
    """A generator app that calls start_response late and yields "Hel" + "lo" across chunks.

    no-store keeps it out of the Cache, so every request shows the stream live. Each chunk
    goes out as it comes. Compressed, text/plain chunks this small are held by the encoder
    until the end (compressing each alone would cost more than it saves); only stream types
    (server-sent events, NDJSON: see /events) are flushed chunk by chunk."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "no-store")])
    for i in range(3):
        yield b"Hel"
        time.sleep(0.3)
        yield b"lo %d\n" % i


def event_stream(start_response: Callable[..., Any]) -> Iterator[bytes]:
    """Server-sent events, one every 0.3 s: a stream type, so Compress flushes each event
    (decodable the moment it arrives). Rewrite leaves text/event-stream alone by default."""
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store")])
    for i in range(3):
        yield b"data: Hello %d\n\n" % i
        time.sleep(0.3)


# Router innermost: its 404/405 answers go through every layer like the app's pages. Compress
# outside Rewrite: Rewrite needs the plain text, Compress compresses the result. Cache
# outside Compress: a hit is served as stored, already rewritten and compressed, one variant
# per negotiated coding (docs/cache.md, docs/compress.md).
# Static outside Cache and Compress: its files carry their own validators and precompressed
# siblings, so they need neither (docs/static.md). Logger outermost: it times everything and
# logs the bytes that went out (docs/logger.md).
application = Logger(
    Static(Cache(Compress(Rewrite(router, [("Hello", "Goodbye")])), default_ttl=30), STATIC_ROOT),
    sink=sys.stdout,
)


class QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without its own access log: Logger writes it."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port = int(os.environ.get("WSGI_MW_DEMO_PORT", "8000"))
    base = f"http://127.0.0.1:{port}"
    print(f"wsgi_mw demo on {base}  (Ctrl-C to stop)\n")
    print("Try:")
    print(f"  curl -i {base}/                    # Hello -> Goodbye, exact Content-Length")
    print(f"  curl -si --compressed {base}/      # the same page compressed (zstd, br or gzip)")
    print(f"  curl -sD- -o/dev/null -H 'Accept-Encoding: gzip;q=0.5, br' {base}/  # q-values: br")
    print(f"  curl -N {base}/stream              # streamed as it comes, rewritten across chunks")
    print(
        f"  curl -N --compressed {base}/events # server-sent events: compressed, flushed each event"
    )
    print(f"  curl -sI {base}/pixel.png          # binary: passed through untouched")
    print(f"  curl -i -d name=Ada {base}/sign    # Router: the POST route")
    print(f"  curl -i {base}/sign                # Router: 405 with Allow: POST")
    print(f"  curl -i {base}/nowhere             # Router: 404")
    print(f"  curl -sD- -o/dev/null {base}/data.json  # twice: X-Cache: MISS, then HIT with Age")
    print(
        f"  curl -sD- -o/dev/null -H 'Cache-Control: no-cache' {base}/data.json  # still a HIT: clients cannot refresh shared entries"
    )
    print(
        f"  curl -sI {base}/static/css/demo.css           # Static: ETag, Last-Modified, max-age=60"
    )
    print(f"  curl -sI --compressed {base}/static/js/app.3f2a9c1d.js  # the .gz sibling, immutable")
    print(f"  curl -si -H 'Range: bytes=0-40' {base}/static/css/demo.css  # 206 Partial Content")
    print(f"  curl -si --path-as-is {base}/static/../demo.py  # refused: the app's 404")
    print("Each request prints its access-log line here (Logger, combined format).")
    print(f"\n{application!r}\n")
    with make_server("127.0.0.1", port, application, handler_class=QuietHandler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
