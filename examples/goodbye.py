"""The PEP 3333 tutorial's "Goodbye" middleware, done with wsgi_mw.Rewrite.

Run it:  .venv/bin/python examples/goodbye.py   then   curl -i http://127.0.0.1:8000/
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from wsgi_mw import Rewrite


def hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The seed app: says Hello."""
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Hello world!\n"]


# The whole middleware: every "Hello" in text responses becomes "Goodbye", streaming.
application = Rewrite(hello_app, [("Hello", "Goodbye")])


if __name__ == "__main__":
    with make_server("127.0.0.1", 8000, application) as server:
        print("Serving on http://127.0.0.1:8000/  (try: curl -i http://127.0.0.1:8000/)")
        server.serve_forever()
