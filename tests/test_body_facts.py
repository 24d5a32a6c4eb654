"""A body is known whole when the app returned a list or tuple, or when its declared
Content-Length is reached by the first chunk and the iterable ends right after (Django's
HttpResponse). Every later stage then treats it as whole: an exact Content-Length, one-shot
compression, min_size. A declared length the body does not match is never trusted and is
reported on wsgi.errors. Oracles: gzip.decompress, wsgiref.validate on both sides, the
inner iterable's own close() count."""

from __future__ import annotations

import gzip
import pathlib
import subprocess
import sys
from wsgiref.validate import validator

import pytest
from conftest import (
    CountingIterable,
    EarlyStartStreamApp,
    ListApp,
    error_text,
    header,
    make_environ,
    run,
)

from wsgi_mw import Gzip, Rewrite

PAGE = b"<p>Hello world</p>" * 100  # 1800 bytes: above Gzip's min_size


def gzip_environ(**extra):
    return make_environ(HTTP_ACCEPT_ENCODING="gzip", **extra)


def sized_app(chunks, length, *, content_type="text/html; charset=utf-8"):
    """Starts the response with a declared Content-Length, returns a counting iterable."""
    return EarlyStartStreamApp(
        chunks, headers=[("Content-Length", str(length))], content_type=content_type
    )


def test_one_chunk_with_its_length_is_compressed_whole_with_exact_length():
    app = sized_app([PAGE], len(PAGE))
    response = run(validator(Gzip(validator(app))), gzip_environ())
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert header(response.headers, "Content-Length") == str(len(response.body))
    assert gzip.decompress(response.body) == PAGE
    assert app.body.closed == 1


def test_min_size_applies_to_a_body_whole_by_its_length():
    app = sized_app([b"Hello world"], 11)
    response = run(validator(Gzip(validator(app))), gzip_environ())
    assert header(response.headers, "Content-Encoding") is None
    assert header(response.headers, "Content-Length") == "11"
    assert response.body == b"Hello world"
    assert app.body.closed == 1


def test_gzip_over_rewrite_over_a_list_gets_an_exact_length():
    """make demo's page: Rewrite changes a list body, Gzip sees Rewrite's exact length."""
    app = ListApp([PAGE])  # a bare list: a validator around it would hide the list
    stacked = validator(Gzip(validator(Rewrite(app, [("Hello", "Goodbye")]))))
    response = run(stacked, gzip_environ())
    assert header(response.headers, "Content-Length") == str(len(response.body))
    assert gzip.decompress(response.body) == PAGE.replace(b"Hello", b"Goodbye")


DJANGO_CHECK = """
import gzip, sys
from django.conf import settings
settings.configure(DEFAULT_CHARSET="utf-8")
import django
django.setup()
from django.http import HttpResponse
from wsgiref.validate import validator
sys.path.insert(0, sys.argv[1])
from conftest import header, make_environ, run
from wsgi_mw import Gzip

PAGE = b"<p>Hello world</p>" * 100

def app(environ, start_response):
    response = HttpResponse(PAGE, content_type="text/html; charset=utf-8")
    response["Content-Length"] = str(len(PAGE))
    start_response("200 OK", list(response.items()))
    return response

response = run(validator(Gzip(validator(app))), make_environ(HTTP_ACCEPT_ENCODING="gzip"))
assert header(response.headers, "Content-Length") == str(len(response.body)), response.headers
assert gzip.decompress(response.body) == PAGE
print("ok")
"""


def test_django_http_response_is_whole():
    """Django's HttpResponse (not a list: an iterable with close()) is whole by its length.
    In a child interpreter, so this Django configuration stays out of the other tests'."""
    tests = pathlib.Path(__file__).resolve().parent
    result = subprocess.run(
        [sys.executable, "-c", DJANGO_CHECK, str(tests)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize(
    "chunks, declared",
    [
        ([PAGE[:900], PAGE[900:]], 900),  # the first chunk reaches it, then more comes
        ([PAGE], len(PAGE) + 10),  # less than declared
        ([PAGE[:900], PAGE[900:]], len(PAGE) + 10),
    ],
    ids=["more", "less", "less_in_two_chunks"],
)
def test_wrong_declared_length_is_streamed_and_reported(chunks, declared):
    app = sized_app(chunks, declared)
    environ = gzip_environ()
    response = run(Gzip(app), environ)
    assert header(response.headers, "Content-Length") is None
    assert gzip.decompress(response.body) == PAGE  # nothing cut, nothing padded
    assert f"declared Content-Length: {declared} but sent {len(PAGE)} body bytes" in error_text(
        environ
    )
    assert app.body.closed == 1


def test_wrong_length_of_a_list_body_left_unchanged_is_corrected_and_reported():
    app = ListApp([b"Howdy world"], headers=[("Content-Length", "20")])
    environ = make_environ()
    response = run(Rewrite(app, [("Hello", "Goodbye")]), environ)  # nothing matches
    assert response.body == b"Howdy world"
    assert header(response.headers, "Content-Length") == "11"
    assert "declared Content-Length: 20 but sent 11 body bytes" in error_text(environ)


def test_wrong_length_of_a_list_body_compressed_gets_the_exact_one():
    app = ListApp([PAGE], headers=[("Content-Length", "1000")])
    environ = gzip_environ()
    response = run(validator(Gzip(app)), environ)
    assert header(response.headers, "Content-Length") == str(len(response.body))
    assert gzip.decompress(response.body) == PAGE
    assert f"declared Content-Length: 1000 but sent {len(PAGE)} body bytes" in error_text(environ)


def test_looking_ahead_never_reads_past_the_item_after_the_length():
    chunks = [PAGE] + [b"more"] * 1000
    body = CountingIterable(chunks)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "1800")])
        return body

    iterator = Gzip(app)(gzip_environ(), lambda status, headers, exc_info=None: None)
    # The call looked at the first chunk and one more, no further.
    assert body.pulled == 2
    next(iterator)
    iterator.close()
    assert body.closed == 1


def test_exc_info_replacement_while_looking_ahead_drops_the_old_body():
    """The app sends its declared length, then fails inside the next next() and replaces
    the head with an error page before anything went out."""
    state = {}

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "1800")])

        def after_first(index):
            if index == 1:
                try:
                    raise RuntimeError("boom")
                except RuntimeError:
                    start_response(
                        "500 Internal Server Error",
                        [("Content-Type", "application/octet-stream")],
                        sys.exc_info(),
                    )

        state["body"] = CountingIterable([PAGE, b"error page"], before_each=after_first)
        return state["body"]

    response = run(validator(Gzip(app)), gzip_environ())
    assert response.status == "500 Internal Server Error"
    assert response.body == b"error page"
    assert state["body"].closed == 1


def test_write_before_the_iterable_is_never_whole_by_length():
    def app(environ, start_response):
        write = start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))]
        )
        write(PAGE[:900])
        return CountingIterable([PAGE[900:]])

    response = run(validator(Gzip(app)), gzip_environ())
    assert gzip.decompress(response.body) == PAGE
