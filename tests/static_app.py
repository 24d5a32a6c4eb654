"""The app tests/test_static.py serves under gunicorn and waitress: Static over a plain app,
with the root from WSGI_MW_TEST_STATIC_ROOT. Each response's iterable type is appended to
WSGI_MW_TEST_STATIC_TYPES, so a test can tell that the server's own wsgi.file_wrapper
(sendfile under gunicorn) carried a file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from wsgi_mw import Static


def fallback(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = b"from the app\n"
    start_response(
        "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]


static = Static(fallback, os.environ["WSGI_MW_TEST_STATIC_ROOT"])


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    result = static(environ, start_response)
    with open(os.environ["WSGI_MW_TEST_STATIC_TYPES"], "a") as types:
        kind = type(result)
        types.write(f"{environ['PATH_INFO']} {kind.__module__}.{kind.__qualname__}\n")
    return result
