"""Rewrite under wsgiref's real server handler, against the bare app under the same handler.

`wsgiref.handlers.SimpleHandler` is the reference WSGI server: it sends the head with the first
item even when that is b"", adds Content-Length when it can, and logs what the app raised.
For responses Rewrite leaves alone the wrapped app must look exactly like the bare one; for
rewritten ones only the documented differences may appear. Each case here is a fault found in
review with this oracle.
"""

from __future__ import annotations

import io
import sys
from wsgiref.handlers import SimpleHandler
from wsgiref.util import setup_testing_defaults

import pytest

from wsgi_mw import Rewrite

RULES = [("Hello", "Goodbye")]


def serve(app, method="GET"):
    """One request through wsgiref's handler: (status line, headers dict, body, last log line)."""
    environ = {}
    setup_testing_defaults(environ)
    environ["REQUEST_METHOD"] = method
    out, errors = io.BytesIO(), io.StringIO()
    handler = SimpleHandler(io.BytesIO(), out, errors, environ, multithread=False)
    handler.server_software = "test"
    handler.run(app)
    head, _, body = out.getvalue().partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    logged = errors.getvalue().strip().splitlines()
    return lines[0], headers, body, logged[-1] if logged else ""


def bare_and_wrapped(app, method="GET"):
    return serve(app, method), serve(Rewrite(app, RULES), method)


def failing_generator(content_type):
    """Yields b"", then fails and tries to replace its headers with exc_info."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", content_type)])
        yield b""
        try:
            raise ValueError("boom")
        except ValueError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        yield b"error page"

    return app


@pytest.mark.parametrize("content_type", ["image/png", "text/html"], ids=["untouched", "rewritten"])
def test_exc_info_after_empty_first_item_behaves_like_the_bare_app(content_type):
    # wsgiref sent the head with the b"": the app's own exception must reach the log, not a
    # RuntimeError from a late second start_response.
    bare, wrapped = bare_and_wrapped(failing_generator(content_type))
    assert wrapped[0] == bare[0] == "HTTP/1.0 200 OK"
    assert bare[3].startswith("ValueError: boom")
    assert wrapped[3] == bare[3]


def test_write_then_exc_info_does_not_mix_bodies():
    # write() counts as transmitted (PEP 3333), so a later replacement is too late and the
    # app's exception propagates, as without middleware. The difference: Rewrite had only
    # buffered the half page, so nothing went out and the server answers with its clean 500
    # instead of the bare app's truncated 200.
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/html")])
        write(b"<html><body>half a page")
        try:
            raise ValueError("boom")
        except ValueError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"error page"]

    bare, wrapped = bare_and_wrapped(app)
    assert bare[3].startswith("ValueError: boom")
    assert wrapped[3] == bare[3]
    assert bare[:3:2] == ("HTTP/1.0 200 OK", b"<html><body>half a page")
    assert wrapped[0] == "HTTP/1.0 500 Internal Server Error"
    assert b"half a page" not in wrapped[2] and b"error page" not in wrapped[2]


@pytest.mark.parametrize("content_type", ["image/png", "text/html"], ids=["untouched", "rewritten"])
def test_head_of_a_list_app_does_not_claim_an_empty_body(content_type):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", content_type)])
        return [b"0123456789 Hello"]

    _, headers, body, _ = serve(Rewrite(app, RULES), method="HEAD")
    assert body == b""
    # wsgiref adds "Content-Length: 0" when nothing at all was yielded.
    assert headers.get("content-length") != "0"


def test_header_list_changed_after_start_response_cannot_corrupt_content_length():
    # wsgiref honours appends to the list it was given; Rewrite keeps its own validated copy.
    def app(environ, start_response):
        headers = [("Content-Type", "text/html")]
        start_response("200 OK", headers)
        headers.append(("Content-Length", "11"))

        def body():
            yield b"Hello world"

        return body()

    _, headers, body, _ = serve(Rewrite(app, RULES))
    assert body == b"Goodbye world"
    assert headers.get("content-length") in (None, str(len(body)))


@pytest.mark.parametrize("content_type", ["image/png", "text/html"], ids=["untouched", "rewritten"])
def test_str_subclasses_reach_the_server_as_str(content_type):
    # We accept str subclasses (they are str); wsgiref insists on `type(x) is str`, so the
    # head goes upstream with exact types. The bare app is refused by wsgiref here.
    class Text(str):
        pass

    def app(environ, start_response):
        start_response(Text("200 OK"), [(Text("Content-Type"), Text(content_type))])
        return [b"Hello"]

    bare, wrapped = bare_and_wrapped(app)
    assert bare[0] == "HTTP/1.0 500 Internal Server Error"
    assert wrapped[0] == "HTTP/1.0 200 OK"
    assert wrapped[1]["content-type"] == content_type
    assert wrapped[2] in (b"Hello", b"Goodbye")


def test_retry_with_exc_info_after_the_server_refused_the_first_head():
    # A server may store a head and then refuse it (wsgiref does, for a bad header). The app
    # catches that and retries with exc_info, which must reach the server: a plain second
    # call would be "Headers already set". This is the fast path (untouched type): the head
    # goes to the server inside the app's own start_response call.
    calls = []

    def server_start_response(status, headers, exc_info=None):
        calls.append((status, exc_info is not None))
        if len(calls) == 1:
            raise AssertionError("refused after storing the head")
        if exc_info is None:
            raise AssertionError("Headers already set!")
        return lambda data: None

    def app(environ, start_response):
        try:
            start_response("200 OK", [("Content-Type", "image/png")])
        except AssertionError:
            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
            return [b"error page"]
        return [b"png"]

    environ = {}
    setup_testing_defaults(environ)
    body = Rewrite(app, RULES)(environ, server_start_response)
    assert list(body) == [b"error page"]
    assert calls == [("200 OK", False), ("500 Internal Server Error", True)]


def test_partial_content_is_not_rewritten():
    def app(environ, start_response):
        start_response(
            "206 Partial Content",
            [("Content-Type", "text/css"), ("Content-Range", "bytes 0-19/31")],
        )
        return [b"Hello { color: red }"]

    bare, wrapped = bare_and_wrapped(app)
    assert wrapped[2] == bare[2] == b"Hello { color: red }"
    assert wrapped[1]["content-range"] == "bytes 0-19/31"


def test_rewritten_response_does_not_advertise_ranges():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), ("Accept-Ranges", "bytes")])
        return [b"Hello"]

    _, headers, body, _ = serve(Rewrite(app, RULES))
    assert body == b"Goodbye"
    assert "accept-ranges" not in headers


def test_notice_is_written_on_the_fast_path_too():
    # No rule can apply to this charset, so the response is handed back untouched; the
    # explanation must still reach wsgi.errors.
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain; charset=latin-1")])
        return [b"price: 5"]

    environ = {}
    setup_testing_defaults(environ)
    errors = environ["wsgi.errors"] = io.StringIO()
    out = []
    body = Rewrite(app, [("€", "EUR")])(environ, lambda s, h, e=None: out.append(s))
    assert list(body) == [b"price: 5"]
    assert "latin-1" in errors.getvalue()


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "utf-8-sig"])
def test_charsets_with_a_byte_order_mark_still_match(charset):
    text = "Hello world"

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", f"text/plain; charset={charset}")])
        return [text.encode(charset)]

    _, _, body, _ = serve(Rewrite(app, RULES))
    assert body.decode(charset) == "Goodbye world"
