"""The two whole stacks of ``bench_stack.py``: the same app, under Rust or pure-Python middleware.

- Rust: ``Logger(Cache(Gzip(Rewrite(Router(routes, default=...), [("Hello", "Goodbye")]))),
  sink=path)``: Cache outside Gzip as docs/cache.md recommends, Logger outermost.
- Python, in the same order, with the peers users would otherwise run: ``TransLogger``
  (paste.translogger, a ``logging.Logger`` with a ``FileHandler``), ``MinimalDictCache``,
  ``DjangoStyleGzip``, ``StreamingReplace`` and ``WerkzeugDispatch`` on a Werkzeug ``Map``
  (benches/peers.py).

Both route the same paths to the same page apps. gunicorn imports a stack with the factory
call ``stack_apps:create("rust", "/tmp/access.log")`` (``--pythonpath benches``).
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paste.translogger import TransLogger
from peers import DjangoStyleGzip, MinimalDictCache, StreamingReplace, WerkzeugDispatch
from runner import WSGIApp
from werkzeug.routing import Map, Rule

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

RUST = "Rust stack"
PYTHON = "Python stack"
BARE = "bare app"
KINDS = {"rust": RUST, "python": PYTHON}
# Served by granian too: an app that sends the Rust stack's own responses, prepared once.
SERVED_KINDS = {**KINDS, "bare": BARE}

RULES = [("Hello", "Goodbye")]
HTML = "text/html; charset=utf-8"

# A product listing row: ~4 KiB pages, two chunks each, "Hello" in every row.
ROW = "<li><a href='/products/{id}'>Hello, walnut desk organiser {n}</a> <b>24.90</b></li>\n"


def _page(title: str, rows: int, **values: object) -> list[bytes]:
    head = f"<!doctype html><html><head><title>Hello {title}</title></head><body><ul>\n"
    items = "".join(ROW.format(n=n, **{"id": n, **values}) for n in range(rows))
    body = (head + items + "</ul></body></html>\n").encode()
    middle = len(body) // 2
    return [body[:middle], body[middle:]]


HOME = _page("home", 48)
ABOUT = _page("about", 32)
NOT_FOUND = [b"<!doctype html><title>Not found</title><p>Hello? Nothing here.</p>\n" * 8]


def home(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("200 OK", [("Content-Type", HTML)])
    return HOME


def about(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("200 OK", [("Content-Type", HTML)])
    return ABOUT


def product(environ: dict, start_response: Callable) -> list[bytes]:
    """The page of product ``id`` (from ``wsgiorg.routing_args``, as both routers set it)."""
    product_id = environ["wsgiorg.routing_args"][1]["id"]
    start_response("200 OK", [("Content-Type", HTML)])
    return _page(f"product {product_id}", 40, id=product_id)


def not_found(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", HTML)])
    return NOT_FOUND


# (path template of Router, Werkzeug rule, endpoint app)
ROUTES = [
    ("/", "/", home),
    ("/about", "/about", about),
    ("/products/{id:int}", "/products/<int:id>", product),
]


@dataclass
class Stack:
    """One whole stack: the WSGI app, and how to flush its log, empty its cache, close it."""

    name: str
    app: WSGIApp
    log_path: Path
    flush: Callable[[], None]
    clear_cache: Callable[[], None]
    cache_entries: Callable[[], int]
    close: Callable[[], None]
    served: int = 0  # requests served so far, kept by the bench: one log line each


def rust_stack(log_path: Path, compressor: Callable[[WSGIApp], WSGIApp] = Gzip) -> Stack:
    """``compressor``: Gzip (the default), or Compress (bench_compress's stack row)."""
    router = Router([("GET", path, app) for path, _rule, app in ROUTES], default=not_found)
    cache = Cache(compressor(Rewrite(router, RULES)))
    logger = Logger(cache, sink=str(log_path))
    entries = lambda: cache.stats()["entries"]
    return Stack(RUST, logger, log_path, logger.flush, cache.clear, entries, logger.flush)


def python_stack(log_path: Path, logger_name: str = "stack_apps.translogger") -> Stack:
    url_map = Map([Rule(rule, endpoint=rule, methods=["GET"]) for _path, rule, _app in ROUTES])
    dispatch = WerkzeugDispatch(url_map, {rule: app for _path, rule, app in ROUTES}, not_found)
    rules = [(old.encode(), new.encode()) for old, new in RULES]
    cache = MinimalDictCache(DjangoStyleGzip(StreamingReplace(dispatch, rules)))
    logger = logging.getLogger(logger_name)
    if logger.handlers:
        raise RuntimeError(f"logger {logger_name!r} already has handlers {logger.handlers!r}")
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def close() -> None:
        logger.removeHandler(handler)
        handler.close()

    app = TransLogger(cache, logger=logger, setup_console_handler=False)
    entries = lambda: len(cache.store)
    return Stack(PYTHON, app, log_path, handler.flush, cache.clear, entries, close)


def build_stack(kind: str, log_path: Path) -> Stack:
    """``kind`` is "rust" or "python"."""
    if kind == "rust":
        return rust_stack(log_path)
    if kind == "python":
        return python_stack(log_path)
    raise ValueError(f"unknown stack {kind!r}")


def bare_app() -> WSGIApp:
    """The floor under the stacks: the Rust stack's responses to every checked path (status,
    headers, the already compressed and rewritten bytes), computed once and returned as they
    are, without any middleware. Paths it does not know get the 404 page's response."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        stack = rust_stack(Path(directory) / "prepare.log")
        answers = {}
        for path in CHECKED_PATHS:
            captured: list = []
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": path,
                "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "HTTP_ACCEPT_ENCODING": "gzip",
                "wsgi.url_scheme": "http",
                "wsgi.errors": None,
            }

            def start_response(status: str, headers: list, *_: object) -> None:
                captured.extend((status, headers))  # noqa: B023 - called before the loop goes on

            result = stack.app(environ, start_response)
            body = b"".join(result)
            getattr(result, "close", lambda: None)()
            status, headers = captured
            headers = [(k, v) for k, v in headers if k.lower() not in ("x-cache", "age")]
            answers[path] = (status, headers, [body])
        stack.close()
    fallback = answers["/nope"]

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        status, headers, body = answers.get(environ.get("PATH_INFO", ""), fallback)
        start_response(status, list(headers))
        return body

    return app


def create_from_env() -> WSGIApp:
    """granian's factory (``--factory``): the stack ``WSGI_MW_BENCH_STACK`` names ("rust",
    "python" or "bare") logging to ``WSGI_MW_BENCH_LOG``, flushed at exit."""
    import os

    kind = os.environ["WSGI_MW_BENCH_STACK"]
    if kind == "bare":
        return bare_app()
    return create(kind, os.environ["WSGI_MW_BENCH_LOG"])


def create(kind: str, log_path: str) -> WSGIApp:
    """gunicorn's factory: the ``kind`` stack logging to ``log_path``, flushed at exit."""
    stack = build_stack(kind, Path(log_path))
    atexit.register(stack.close)
    return stack.app


# The paths both stacks are checked on: every route, and one that no route matches.
CHECKED_PATHS = ("/", "/about", "/products/1", "/products/2", "/products/3", "/nope")
