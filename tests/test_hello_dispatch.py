"""examples/hello_dispatch.py through a real wsgiref server and http.client: the seed's
hello.py (GET / home, POST /sign sign-in form) dispatched by Router."""

from urllib.parse import urlencode
from wsgiref.validate import validator

from conftest import http_request, load_example

from wsgi_mw import Router


def load():
    return load_example("hello_dispatch")


request = http_request


def test_hello_dispatch_end_to_end(serve):
    module = load()
    assert isinstance(module.application, Router)
    port = serve(validator(module.application))

    status, headers, body = request(port, "GET", "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<form method="post" action="/sign">' in body

    form = urlencode({"name": "Zoë <script>"}).encode()
    status, _, body = request(
        port,
        "POST",
        "/sign",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    assert body == "<p>Hello, Zoë &lt;script&gt;! You are in.</p>\n".encode()

    status, _, body = request(port, "POST", "/sign", body=b"name=", headers={})
    assert status == 400 and b"your name" in body

    status, headers, body = request(port, "GET", "/sign")
    assert (status, headers["Allow"], body) == (405, "POST", b"Method Not Allowed\n")

    status, headers, body = request(port, "HEAD", "/")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0

    status, headers, _ = request(port, "POST", "/sign/")
    assert status == 308
    assert headers["Location"] == f"http://127.0.0.1:{port}/sign"

    status, _, body = request(port, "GET", "/nowhere")
    assert (status, body) == (404, b"Not Found\n")
