"""Real round trips: wsgiref.simple_server on 127.0.0.1 in a thread, http.client (or a raw
socket, to see exactly which bytes the server sent) on the other side."""

from __future__ import annotations

import http.client
import importlib.util
import io
import pathlib
import socket

import pytest

from wsgi_mw import Rewrite

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "goodbye.py"


def request(port, method="GET", path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        return response.status, response.getheaders(), body
    finally:
        conn.close()


def raw_request(port, method="GET", path="/"):
    """(status line, headers dict, body) exactly as sent on the wire."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers, body


def get(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    assert len(values) <= 1, f"{name} repeated: {values}"
    return values[0] if values else None


def hello_app(environ, start_response):
    body = b"<p>Hello world</p>"
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("ETag", '"v1"'),
        ],
    )
    return [body]


def hello_stream_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    yield b"Hel"
    yield b""
    yield b"lo world, "
    yield b"Hello"
    yield b" again"


def png_file_app(environ, start_response):
    data = b"\x89PNG\r\n\x1a\nHello" * 100
    start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(data)))])
    return environ["wsgi.file_wrapper"](io.BytesIO(data), 64)


@pytest.mark.parametrize("regex", [False, True], ids=["literal", "regex"])
def test_list_body_exact_content_length(serve, regex):
    port = serve(Rewrite(hello_app, [("Hello", "Goodbye")], regex=regex))
    status, headers, body = request(port)
    assert status == 200
    assert body == b"<p>Goodbye world</p>"
    assert get(headers, "Content-Length") == str(len(b"<p>Goodbye world</p>"))
    assert get(headers, "Content-Type") == "text/html; charset=utf-8"
    assert get(headers, "ETag") == 'W/"v1"'


def test_streamed_body(serve):
    port = serve(Rewrite(hello_stream_app, [("Hello", "Goodbye")]))
    status, headers, body = request(port)
    assert status == 200
    assert body == b"Goodbye world, Goodbye again"
    # Streamed and rewritten: the length is not known when the headers go out.
    assert get(headers, "Content-Length") is None


def test_streamed_body_regex(serve):
    port = serve(Rewrite(hello_stream_app, [(r"Hel+o (\w+)", "Goodbye $1")], regex=True))
    status, headers, body = request(port)
    assert status == 200
    assert body == b"Goodbye world, Goodbye again"
    assert get(headers, "Content-Length") is None


def test_head_sends_no_body_bytes(serve):
    port = serve(Rewrite(hello_app, [("Hello", "Goodbye")]))
    status_line, headers, body = raw_request(port, "HEAD")
    assert status_line.split()[1] == "200"
    assert body == b""
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_head_stream_sends_no_body_bytes(serve):
    port = serve(Rewrite(hello_stream_app, [("Hello", "Goodbye")]))
    status_line, _, body = raw_request(port, "HEAD")
    assert status_line.split()[1] == "200"
    assert body == b""


def test_file_wrapper_pass_through(serve):
    port = serve(Rewrite(png_file_app, [("Hello", "Goodbye")]))
    status, headers, body = request(port)
    assert status == 200
    assert body == b"\x89PNG\r\n\x1a\nHello" * 100
    assert get(headers, "Content-Length") == str(len(body))


def test_same_server_serves_many_requests(serve):
    port = serve(Rewrite(hello_stream_app, [("Hello", "Goodbye")]))
    for _ in range(5):
        assert request(port)[2] == b"Goodbye world, Goodbye again"


def load_example():
    assert EXAMPLE.is_file(), f"{EXAMPLE} is missing: it must define a module-level `application`"
    spec = importlib.util.spec_from_file_location("goodbye_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_goodbye(serve):
    module = load_example()
    assert isinstance(module.application, Rewrite), (
        "examples/goodbye.py: `application` should be a Rewrite"
    )
    port = serve(module.application)
    status, headers, body = request(port)
    assert status == 200
    assert b"Goodbye" in body
    assert b"Hello" not in body
    assert get(headers, "Content-Length") in (None, str(len(body)))
