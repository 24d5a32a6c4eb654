"""The seed's hello.py, its ``if method == ... and path == ...`` dispatch done by wsgi_mw.Router.

GET / is the home page with a sign-in form; POST /sign reads the form from wsgi.input and
answers. Router does the rest: HEAD for the GET route, 405 with Allow for a wrong method,
404 for any other path.

Run it:  .venv/bin/python examples/hello_dispatch.py   (HELLO_PORT=8001 for another port)
then:    curl -i http://127.0.0.1:8000/
         curl -i -d name=Ada http://127.0.0.1:8000/sign
         curl -i http://127.0.0.1:8000/sign             # 405, Allow: POST
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from wsgi_mw import Router

# A sign-in form is a few dozen bytes: refuse to read more than this from a client.
MAX_FORM_BYTES = 64 * 1024

router = Router()


def respond(
    environ: dict[str, Any], start_response: Callable[..., Any], status: str, page: str
) -> Iterable[bytes]:
    body = page.encode("utf-8")
    start_response(
        status,
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    # Router sends HEAD to the GET route: same headers, no body.
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


@router.route("/", name="home")
def home(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # url_for gives the path under SCRIPT_NAME: the form still works when the app is
    # mounted somewhere else.
    action = html.escape(environ.get("SCRIPT_NAME", "") + router.url_for("sign"))
    return respond(
        environ,
        start_response,
        "200 OK",
        "<!doctype html><title>Hello</title><h1>Hello world!</h1>"
        f'<form method="post" action="{action}">'
        '<label>Your name <input name="name" required></label> '
        "<button>Sign in</button></form>\n",
    )


@router.route("/sign", methods=("POST",), name="sign")
def sign(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= MAX_FORM_BYTES:
        return respond(environ, start_response, "400 Bad Request", "<p>Bad form.</p>\n")
    form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
    name = form.get("name", [""])[0].strip()
    if not name:
        return respond(
            environ, start_response, "400 Bad Request", "<p>Please tell us your name.</p>\n"
        )
    page = f"<p>Hello, {html.escape(name)}! You are in.</p>\n"
    return respond(environ, start_response, "200 OK", page)


application = router


def main() -> None:
    port = int(os.environ.get("HELLO_PORT", "8000"))
    base = f"http://127.0.0.1:{port}"
    print(f"Serving {application!r} on {base}/  (Ctrl-C to stop)")
    print(f"Try:  curl -i {base}/   and   curl -i -d name=Ada {base}/sign")
    with make_server("127.0.0.1", port, application) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
