"""`make demo`: a small site wrapped in every wsgi_mw middleware built so far, on wsgiref.

Today that is Logger(Cache(Gzip(Rewrite(site)))): "Hello" becomes "Goodbye" in text
responses, streamed bodies included, text is gzip-compressed for clients that ask for it
(images pass through both untouched), repeated GETs are answered from memory (X-Cache: HIT),
one stored variant per accepted encoding, and every request gets one combined-format access
log line on stdout once its response ended. Set WSGI_MW_DEMO_PORT to use another port than
8000.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from wsgi_mw import Cache, Gzip, Logger, Rewrite

# A 1x1 transparent PNG: binary, never rewritten.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def site(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The wrapped app: a page, a JSON document, a slow stream, an image."""
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        items = b"".join(b"<li>Hello item %d</li>" % i for i in range(40))
        return [b"<h1>Hello world</h1><p>Hello from the demo app.</p><ul>" + items + b"</ul>\n"]
    if path == "/data.json":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"greeting": "Hello"}\n']
    if path == "/stream":
        return stream(start_response)
    if path == "/pixel.png":
        start_response(
            "200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(PIXEL)))]
        )
        return [PIXEL]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not found\n"]


def stream(start_response: Callable[..., Any]) -> Iterator[bytes]:
    """A generator app that calls start_response late and yields "Hel" + "lo" across chunks.

    no-store keeps it out of the Cache, so every request shows the stream live."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "no-store")])
    for i in range(3):
        yield b"Hel"
        time.sleep(0.3)
        yield b"lo %d\n" % i


# Gzip outside Rewrite: Rewrite needs the plain text, Gzip compresses the result. Cache
# outside Gzip: a hit is served as stored, already rewritten and compressed (docs/cache.md).
# Logger outermost: it times everything and logs the bytes that went out (docs/logger.md).
application = Logger(
    Cache(Gzip(Rewrite(site, [("Hello", "Goodbye")])), default_ttl=30), sink=sys.stdout
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
    print(f"  curl -si --compressed {base}/      # the same page gzip-compressed (see headers)")
    print(f"  curl -N --compressed {base}/stream # streamed: rewritten and compressed on the fly")
    print(f"  curl -sI {base}/pixel.png          # binary: passed through untouched")
    print(f"  curl -sD- -o/dev/null {base}/data.json  # twice: X-Cache: MISS, then HIT with Age")
    print(f"  curl -sD- -o/dev/null -H 'Cache-Control: no-cache' {base}/data.json  # refresh")
    print("Each request prints its access-log line here (Logger, combined format).")
    print(f"\n{application!r}\n")
    with make_server("127.0.0.1", port, application, handler_class=QuietHandler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
