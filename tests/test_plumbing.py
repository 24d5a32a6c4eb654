"""PEP 3333 plumbing shared by every wsgi_mw middleware, exercised through Rewrite.

One section per rule of DESIGN.md "PEP 3333 rules the plumbing must honour". Wherever the
app behaves correctly, wsgiref.validate.validator sits on BOTH sides of Rewrite. Where the
app itself breaks the protocol (rule 6, str bodies, write(str)), only the outer validator is
used, because the inner one would catch the fault before Rewrite sees it.
"""

from __future__ import annotations

import sys
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
from conftest import (
    HTML,
    CountingIterable,
    EarlyStartStreamApp,
    FileWrapperApp,
    LateRaiseApp,
    LateStartApp,
    ListApp,
    RaiseAfterStartApp,
    RaiseBeforeStartApp,
    RaiseMidIterationApp,
    Server,
    StrYieldingApp,
    SwitchApp,
    WriteApp,
    bad_environ,
    generator_app,
    header,
    make_environ,
    run,
    run_lockstep,
)

from wsgi_mw import Rewrite

RULES = [("Hello", "Goodbye")]


def both(app, rules=RULES, **options):
    """validator on both sides of Rewrite."""
    return validator(Rewrite(validator(app), rules, **options))


def outer_only(app, rules=RULES, **options):
    return validator(Rewrite(app, rules, **options))


def inner_closed(app):
    """How many times the inner iterable's close() ran."""
    if isinstance(app, SwitchApp):
        app = app.bad
    if isinstance(app, FileWrapperApp):
        return app.file.close_calls
    return app.body.closed


def assert_serves_next_request(mw):
    """After an error, the same instance serves a normal request."""
    response = run(mw, make_environ())
    assert response.status == "200 OK"
    assert response.body == b"Goodbye world"


# --------------------------------------------------------------------------- every app shape

# name -> factory; each app's body reads "Hello world" once joined (write() data first).
SHAPES = {
    "list_body": lambda **kw: ListApp([b"Hel", b"lo world"], **kw),
    "tuple_body": lambda **kw: ListApp([b"Hel", b"lo world"], body_type=tuple, **kw),
    "list_body_with_content_length": lambda **kw: ListApp(
        [b"Hel", b"lo world"], content_length=True, **kw
    ),
    "generator_late_start_response": lambda **kw: LateStartApp([b"Hel", b"lo world"], **kw),
    "python_generator_function": lambda **kw: generator_app([b"Hel", b"", b"lo world"], **kw),
    "stream_early_start_response": lambda **kw: EarlyStartStreamApp(
        [b"H", b"ello", b" world"], **kw
    ),
    "write_callable": lambda **kw: WriteApp([b"Hel"], [b"lo world"], **kw),
    "write_callable_only": lambda **kw: WriteApp([b"Hello", b" world"], [], **kw),
    "file_wrapper": lambda **kw: FileWrapperApp([b"Hello world"], blksize=3, **kw),
}

COUNTED = {
    "generator_late_start_response",
    "stream_early_start_response",
    "write_callable",
    "write_callable_only",
    "file_wrapper",
}


@pytest.mark.parametrize("regex", [False, True], ids=["literal", "regex"])
@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_every_shape_is_rewritten_under_validator_both_sides(shape, regex):
    app = SHAPES[shape]()
    response = run(both(app, regex=regex))
    assert response.status == "200 OK"
    assert header(response.headers, "Content-Type") == HTML
    assert response.body == b"Goodbye world"
    if shape in COUNTED:
        assert inner_closed(app) == 1


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_every_shape_passes_through_a_non_rewritable_type(shape):
    app = SHAPES[shape](content_type="image/png")
    response = run(both(app))
    assert response.body == b"Hello world"
    assert header(response.headers, "Content-Type") == "image/png"
    if shape in COUNTED:
        assert inner_closed(app) == 1


# --------------------------------------------------------------------------- rule 1: late start_response


def test_late_start_response_inside_first_next():
    app = LateStartApp([b"Hello", b" world"], status="201 Created")
    response = run(both(app))
    assert response.status == "201 Created"
    assert response.body == b"Goodbye world"


def test_late_start_response_first_item_empty():
    def app(environ, start_response):
        yield b""  # PEP 3333: start_response may wait until the first non-empty item
        start_response("200 OK", [("Content-Type", HTML)])
        yield b"Hello world"

    # No validator here: it insists on start_response before the first item, stricter than
    # PEP 3333 ("must be called before the first non-empty body string"); Rewrite has to
    # yield b"" for the empty item without knowing the status yet.
    response = run(Rewrite(app, RULES))
    assert response.body == b"Goodbye world"


def test_late_start_response_status_decides_pass_through():
    app = LateStartApp([b"Hello world"], content_type="application/octet-stream")
    response = run(both(app))
    assert response.body == b"Hello world"


# --------------------------------------------------------------------------- rule 2: never block


def step(mw, environ=None):
    """Open a response like a server and return (server, outer iterator)."""
    server = Server()
    outer = mw(environ or make_environ(), server.start_response)
    return server, outer


@pytest.mark.parametrize("regex", [False, True], ids=["literal_carry_window", "regex_buffering"])
def test_one_outer_item_per_inner_item(regex):
    # run_lockstep: after the k-th outer item the inner iterable was pulled exactly k times.
    chunks = [b"Hel", b"lo ", b"", b"wor", b"ld", b"!", b"Hello"]
    app = LateStartApp(chunks)
    response = run_lockstep(both(app, regex=regex), app)
    assert response.body == b"Goodbye world!Goodbye"


def test_endless_inner_body_streams_and_closes():
    endless = CountingIterable(b"Hello world " for _ in range(10**9))

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        return endless

    server, outer = step(both(app))
    try:
        for _ in range(3):
            server.take(next(outer))
    finally:
        outer.close()
    assert endless.pulled == 3
    assert endless.closed == 1
    assert b"".join(server.chunks).startswith(b"Goodbye world Goodbye world ")


@pytest.mark.parametrize(
    "regex", [False, True], ids=["literal_ignores_max_buffer", "regex_over_max_buffer"]
)
def test_body_over_max_buffer_keeps_lockstep(regex):
    app = LateStartApp([b"aaaa"] * 6)
    response = run_lockstep(both(app, rules=[("a", "b")], regex=regex, max_buffer=10), app)
    assert response.body == (b"a" * 24 if regex else b"b" * 24)


# --------------------------------------------------------------------------- rule 3: write()


@pytest.mark.parametrize("regex", [False, True], ids=["literal", "regex"])
@pytest.mark.parametrize(
    "written, chunks, expected",
    [
        pytest.param([b"A", b"B"], [b"C", b"D"], b"ABCD", id="write_data_comes_first"),
        pytest.param(
            [b"Hel"], [b"lo world"], b"Goodbye world", id="match_split_write_then_iterable"
        ),
        pytest.param(
            [b"He", b"l"], [b"l", b"o world"], b"Goodbye world", id="match_split_over_two_writes"
        ),
        pytest.param([b"Hello"], [b" Hello"], b"Goodbye Goodbye", id="match_in_write_and_iterable"),
        pytest.param([b"Hello world"], [], b"Goodbye world", id="write_only_empty_iterable"),
        pytest.param([b""], [b"Hello world"], b"Goodbye world", id="empty_write"),
    ],
)
def test_write_callable(written, chunks, expected, regex):
    app = WriteApp(written, chunks)
    response = run(both(app, regex=regex))
    assert response.body == expected
    assert app.body.closed == 1


def test_write_callable_non_rewritable_keeps_order():
    app = WriteApp([b"\x89PNG", b"\r\n"], [b"rest"], content_type="image/png")
    assert run(both(app)).body == b"\x89PNG\r\nrest"


def test_write_callable_list_body_after_write():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", HTML)])
        write(b"Hel")
        return [b"lo", b" world"]

    response = run(both(app))
    assert response.body == b"Goodbye world"


# --------------------------------------------------------------------------- rule 4: close() exactly once


ERROR_PATHS = [
    pytest.param(
        lambda: RaiseBeforeStartApp(), RuntimeError, False, id="app_raises_before_start_response"
    ),
    pytest.param(
        lambda: RaiseAfterStartApp(), RuntimeError, False, id="app_raises_after_start_response"
    ),
    pytest.param(
        lambda: LateRaiseApp(after_start=False),
        RuntimeError,
        True,
        id="first_next_raises_before_start_response",
    ),
    pytest.param(
        lambda: LateRaiseApp(after_start=True),
        RuntimeError,
        True,
        id="first_next_raises_after_start_response",
    ),
    pytest.param(lambda: RaiseMidIterationApp(), RuntimeError, True, id="raises_mid_iteration"),
    # The inner validator turns a str item into its own AssertionError before Rewrite sees it;
    # the str item as such is tested without the inner validator below (rule 6).
    pytest.param(
        lambda: StrYieldingApp(), AssertionError, True, id="str_item_caught_by_inner_validator"
    ),
]


@pytest.mark.parametrize("make_bad, error, has_body", ERROR_PATHS)
def test_error_paths_close_inner_once_and_recover(make_bad, error, has_body):
    bad = make_bad()
    mw = both(SwitchApp(bad))
    with pytest.raises(error):
        run(mw, bad_environ())
    if has_body:
        assert bad.body.closed == 1
    assert_serves_next_request(mw)


def test_exception_mid_iteration_propagates_from_next():
    bad = RaiseMidIterationApp([b"Hello ", b"world"])
    mw = both(SwitchApp(bad))
    server, outer = step(mw, bad_environ())  # the call itself must not raise
    try:
        with pytest.raises(RuntimeError, match="boom mid-iteration"):
            for _ in range(5):
                server.take(next(outer))
    finally:
        outer.close()
    assert bad.body.closed == 1
    assert_serves_next_request(mw)


@pytest.mark.parametrize(
    "taken",
    [0, 1, 2],
    ids=["close_before_first_next", "close_after_first_chunk", "close_after_second_chunk"],
)
def test_server_closes_early(taken):
    app = LateStartApp([b"Hello", b" ", b"world", b"!"])
    server, outer = step(both(app))
    try:
        for _ in range(taken):
            server.take(next(outer))
    finally:
        outer.close()
    assert app.body.pulled == taken
    assert app.body.closed == 1


def test_server_closes_twice_inner_closed_once():
    app = LateStartApp([b"Hello", b" world"])
    server, outer = step(Rewrite(validator(app), RULES))
    server.take(next(outer))
    outer.close()
    outer.close()
    assert app.body.closed == 1


def test_server_closes_twice_after_full_iteration():
    app = EarlyStartStreamApp([b"Hello", b" world"])
    server, outer = step(Rewrite(validator(app), RULES))
    for chunk in outer:
        server.take(chunk)
    outer.close()
    outer.close()
    assert app.body.closed == 1
    assert b"".join(server.chunks) == b"Goodbye world"


def test_file_wrapper_closed_once_when_server_closes_early():
    app = FileWrapperApp([b"Hello world, " * 10], blksize=4)
    server, outer = step(both(app))
    server.take(next(outer))
    outer.close()
    assert app.file.close_calls == 1


# --------------------------------------------------------------------------- rule 5: exc_info


ERROR_PAGE_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]


def test_exc_info_before_body_replaces_headers():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML), ("ETag", '"v1"')])
        try:
            raise ValueError("app failed")
        except ValueError:
            start_response("500 Internal Server Error", ERROR_PAGE_HEADERS, sys.exc_info())
        return [b"Hello error page"]

    response = run(both(app))
    assert response.status == "500 Internal Server Error"
    assert header(response.headers, "Content-Type") == "text/plain; charset=utf-8"
    assert header(response.headers, "ETag") is None
    assert response.body == b"Goodbye error page"


def test_exc_info_after_head_went_upstream_reraises_in_the_app():
    # The head went upstream with the first item, b"" here: wsgiref sends it right then, so
    # a replacement is too late. start_response re-raises the app's own exception inside the
    # app's except block, exactly as the server would without the middleware.
    failure = ValueError("app failed")
    reraised = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        yield b""
        try:
            raise failure
        except ValueError:
            try:
                start_response("500 Internal Server Error", ERROR_PAGE_HEADERS, sys.exc_info())
            except ValueError as exc:
                reraised.append(exc)
                raise
        yield b"Hello error page"

    with pytest.raises(ValueError) as raised:
        run(both(app))
    assert raised.value is failure
    assert reraised == [failure]


def test_exc_info_after_body_bytes_reraises_that_exception():
    left = []
    raised_by_start_response = []
    failure = ValueError("app failed after body")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        for _ in range(50):
            if left:
                break
            yield b"x" * 100
        else:
            raise AssertionError("5000 bytes went in, none came out of Rewrite (literal mode)")
        try:
            raise failure
        except ValueError:
            try:
                start_response("500 Internal Server Error", ERROR_PAGE_HEADERS, sys.exc_info())
            except ValueError as again:
                raised_by_start_response.append(again)
                raise
        yield b"unreachable"

    bad = CountingCloseWrapper(app)
    mw = both(SwitchApp(bad))
    server, outer = step(mw, bad_environ())
    try:
        with pytest.raises(ValueError) as raised:
            for _ in range(60):
                if server.take(next(outer)):
                    left.append(True)
    finally:
        outer.close()
    assert raised.value is failure
    assert raised_by_start_response == [failure], "the app's start_response call must re-raise"
    assert server.status == "200 OK"
    assert bad.body.closed == 1
    assert_serves_next_request(mw)


class CountingCloseWrapper:
    """Wraps a generator app so its body's close() calls are counted."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        gen = self.app(environ, start_response)
        self.body = CountingIterable([])
        counter = self.body

        class Body:
            def __iter__(self):
                return self

            def __next__(self):
                return next(gen)

            def close(self):
                counter.closed += 1
                gen.close()

        return Body()


def test_second_start_response_without_exc_info_is_an_error():
    def twice(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        start_response("200 OK", [("Content-Type", HTML)])
        return [b"Hello"]

    mw = both(SwitchApp(twice))
    with pytest.raises(AssertionError) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert_serves_next_request(mw)


def test_second_start_response_late_is_an_error_and_closes():
    def second():
        start[0]("200 OK", [("Content-Type", HTML)])
        start[0]("200 OK", [("Content-Type", HTML)])

    start = [None]

    def app(environ, start_response):
        start[0] = start_response
        app.body = CountingIterable([b"Hello"], start=second)
        return app.body

    mw = both(SwitchApp(app))
    with pytest.raises(AssertionError) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert app.body.closed == 1
    assert_serves_next_request(mw)


# --------------------------------------------------------------------------- rule 6: validation

CT = ("Content-Type", "text/html")

# (status, headers, error) -- the fault the app commits in its start_response call.
START_RESPONSE_FAULTS = [
    pytest.param(b"200 OK", [CT], TypeError, id="status_bytes_not_str"),
    pytest.param(200, [CT], TypeError, id="status_int_not_str"),
    pytest.param("200", [CT], ValueError, id="status_without_reason"),
    pytest.param("OK 200", [CT], ValueError, id="status_reason_first"),
    pytest.param("20 OK", [CT], ValueError, id="status_two_digits"),
    pytest.param("2000 OK", [CT], ValueError, id="status_four_digits"),
    pytest.param("200 OK", (CT,), TypeError, id="headers_tuple_not_list"),
    pytest.param("200 OK", {"Content-Type": "text/html"}, TypeError, id="headers_dict_not_list"),
    pytest.param("200 OK", ["Content-Type: text/html"], TypeError, id="header_item_str_not_tuple"),
    pytest.param("200 OK", [("Content-Type",)], TypeError, id="header_item_one_element"),
    pytest.param(
        "200 OK", [("Content-Type", "text/html", "x")], TypeError, id="header_item_three_elements"
    ),
    pytest.param(
        "200 OK", [["Content-Type", "text/html"]], TypeError, id="header_item_list_not_tuple"
    ),
    pytest.param("200 OK", [(b"Content-Type", b"text/html")], TypeError, id="header_bytes_not_str"),
    pytest.param("200 OK", [CT, ("X-Count", 1)], TypeError, id="header_value_int"),
    pytest.param("200 OK", [CT, ("X:Y", "1")], ValueError, id="header_name_with_colon"),
    pytest.param("200 OK", [CT, ("X Y", "1")], ValueError, id="header_name_with_space"),
    pytest.param(
        "200 OK",
        [CT, ("X-A", "1\r\nSet-Cookie: evil=1")],
        ValueError,
        id="header_value_crlf_injection",
    ),
    pytest.param("200 OK", [CT, ("X-Euro", "\u20ac")], ValueError, id="header_value_not_latin1"),
    pytest.param("200 OK", [CT, ("X-\u20ac", "1")], ValueError, id="header_name_not_latin1"),
    # RFC 9110 7.6.1 / PEP 3333: hop-by-hop headers belong to the server.
    *[
        pytest.param("200 OK", [CT, (name, "x")], ValueError, id=f"hop_by_hop_{name.lower()}")
        for name in (
            "Connection",
            "Transfer-Encoding",
            "Keep-Alive",
            "Upgrade",
            "TE",
            "Trailers",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "connection",
        )
    ],
]


@pytest.mark.parametrize("status, headers, error", START_RESPONSE_FAULTS)
def test_start_response_validation(status, headers, error):
    def bad(environ, start_response):
        start_response(status, headers)
        return [b"Hello"]

    mw = outer_only(SwitchApp(bad))
    with pytest.raises(error) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert_serves_next_request(mw)


@pytest.mark.parametrize("status, headers, error", START_RESPONSE_FAULTS[:3])
def test_start_response_validation_late(status, headers, error):
    def bad(environ, start_response):
        bad.body = CountingIterable([b"Hello"], start=lambda: start_response(status, headers))
        return bad.body

    mw = outer_only(SwitchApp(bad))
    with pytest.raises(error) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert bad.body.closed == 1
    assert_serves_next_request(mw)


@pytest.mark.parametrize("data", ["Hello", None, 42], ids=["write_str", "write_none", "write_int"])
def test_write_non_bytes_is_type_error(data):
    bad = WriteApp([data], [b"world"])
    mw = outer_only(SwitchApp(bad))
    with pytest.raises(TypeError) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert_serves_next_request(mw)


def test_exception_mid_iteration_closes_inner_before_the_server_does():
    # docs/architecture.md rule 4: on an exception while iterating, the inner iterable is
    # closed at once, before the exception reaches the server (which may never call close).
    body = CountingIterable([b"Hello", b"world"], raise_at=1)
    outer = Rewrite(lambda environ, start_response: _started(start_response, body), RULES)(
        make_environ(), Server().start_response
    )
    with pytest.raises(RuntimeError, match="boom mid-iteration"):
        list(outer)
    assert body.closed == 1
    outer.close()
    assert body.closed == 1


def _started(start_response, body):
    start_response("200 OK", [("Content-Type", HTML)])
    return body


def test_str_item_is_type_error_and_closes():
    bad = StrYieldingApp(["Hello world"], content_type=HTML)
    mw = outer_only(SwitchApp(bad))
    with pytest.raises(TypeError) as raised:
        run(mw, bad_environ())
    message = str(raised.value)
    assert "Rewrite" in message
    assert "bytes" in message or "str" in message
    assert bad.body.closed == 1
    assert_serves_next_request(mw)


def test_str_item_on_untouched_response_meets_the_servers_own_check():
    # Design (docs/architecture.md, fast path): a response Rewrite leaves alone is handed to
    # the server as the app's own iterable, so the server's bytes check applies exactly as if
    # Rewrite were not there -- and the server closes the iterable itself.
    bad = StrYieldingApp(["Hello world"], content_type="image/png")
    environ = bad_environ()
    server = Server()
    result = Rewrite(bad, RULES)(environ, server.start_response)
    assert result is bad.body
    result.close()
    with pytest.raises(AssertionError, match="non-bytestring"):
        run(validator(Rewrite(bad, RULES)), bad_environ())
    assert bad.body.closed == 1


def test_str_item_in_list_body_is_type_error():
    bad = ListApp(["Hello world"])
    mw = outer_only(SwitchApp(bad))
    with pytest.raises(TypeError) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert_serves_next_request(mw)


def test_body_before_start_response_is_assertion_error():
    def bad(environ, start_response):
        bad.body = CountingIterable([b"Hello world"])
        return bad.body

    mw = outer_only(SwitchApp(bad))
    with pytest.raises(AssertionError) as raised:
        run(mw, bad_environ())
    assert "Rewrite" in str(raised.value)
    assert bad.body.closed == 1
    assert_serves_next_request(mw)


# --------------------------------------------------------------------------- rule 7: file_wrapper


@pytest.mark.parametrize(
    "content_type, extra",
    [
        pytest.param("image/png", [], id="non_rewritable_type"),
        pytest.param(HTML, [("Content-Encoding", "gzip")], id="content_encoded"),
        pytest.param("application/octet-stream", [("Content-Length", "11")], id="octet_stream"),
    ],
)
def test_file_wrapper_passes_through_as_same_object(content_type, extra):
    app = FileWrapperApp([b"Hello world"], content_type=content_type, headers=extra)
    server = Server()
    result = Rewrite(app, RULES)(make_environ(), server.start_response)
    try:
        assert result is app.body, (
            "a non-transformed file_wrapper must be returned as is (sendfile)"
        )
        assert isinstance(result, FileWrapper)
        assert server.status == "200 OK"
        assert server.headers == app.headers()
    finally:
        result.close()
    assert app.file.close_calls == 1


def test_file_wrapper_pass_through_for_excluded_content_types():
    app = FileWrapperApp([b"Hello world"], content_type="text/plain")
    server = Server()
    result = Rewrite(app, RULES, content_types=["text/html"])(make_environ(), server.start_response)
    try:
        assert result is app.body
    finally:
        result.close()


@pytest.mark.parametrize("blksize", [1, 3, 5, 8192])
def test_file_wrapper_transformed_is_iterated_and_closed_once(blksize):
    app = FileWrapperApp([b"Hello world, Hello!"], blksize=blksize)
    response = run(Rewrite(app, RULES))
    assert response.body == b"Goodbye world, Goodbye!"
    assert header(response.headers, "Content-Length") is None
    assert app.file.close_calls == 1


def test_file_wrapper_transformed_under_validators():
    app = FileWrapperApp([b"Hello world"], blksize=2)
    response = run(both(app, regex=True))
    assert response.body == b"Goodbye world"
    assert app.file.close_calls == 1


# --------------------------------------------------------------------------- rule 8: no body


NO_BODY_CASES = [
    # (method, status, content_type, extra headers, headers expected to survive untouched)
    pytest.param(
        "HEAD",
        "200 OK",
        HTML,
        [("Content-Length", "11"), ("ETag", '"v1"')],
        None,
        id="head_rewritable_type",
    ),
    pytest.param(
        "HEAD",
        "200 OK",
        "image/png",
        [("Content-Length", "11")],
        "same",
        id="head_non_rewritable_type",
    ),
    pytest.param("GET", "204 No Content", None, [("ETag", '"v1"')], "same", id="status_204"),
    pytest.param(
        "GET",
        "304 Not Modified",
        None,
        [("ETag", '"v1"'), ("Content-Length", "11")],
        "same",
        id="status_304",
    ),
    pytest.param(
        "GET", "103 Early Hints", HTML, [("Link", "</s.css>; rel=preload")], "same", id="status_103"
    ),
    pytest.param("HEAD", "304 Not Modified", None, [("ETag", '"v1"')], "same", id="head_304"),
]

NO_BODY_SHAPES = {
    "list_body": lambda **kw: ListApp([b"Hello world"], **kw),
    "generator_late_start_response": lambda **kw: LateStartApp([b"Hel", b"lo world"], **kw),
    "write_callable": lambda **kw: WriteApp([b"Hello"], [b" world"], **kw),
    "file_wrapper": lambda **kw: FileWrapperApp([b"Hello world"], blksize=4, **kw),
}


@pytest.mark.parametrize("shape", NO_BODY_SHAPES, ids=list(NO_BODY_SHAPES))
@pytest.mark.parametrize("method, status, content_type, extra, untouched", NO_BODY_CASES)
def test_no_body_responses(shape, method, status, content_type, extra, untouched):
    app = NO_BODY_SHAPES[shape](status=status, content_type=content_type, headers=extra)
    response = run(both(app), make_environ(REQUEST_METHOD=method))
    assert response.status == status
    assert response.body == b"", f"{len(response.body)} body bytes emitted for {method} {status}"
    if untouched == "same":
        assert response.headers == app.headers()
    else:
        # HEAD of a rewritable type: the GET length can't be known.
        assert header(response.headers, "Content-Length") is None
        assert header(response.headers, "Content-Type") == HTML
    if shape != "list_body":
        assert inner_closed(app) == 1


def test_head_then_get_same_instance():
    # Outer validator only: the inner one would hide the list (see conftest.stack).
    mw = validator(Rewrite(ListApp([b"Hello world"], content_length=True), RULES))
    head = run(mw, make_environ(REQUEST_METHOD="HEAD"))
    assert head.body == b""
    get = run(mw, make_environ())
    assert get.body == b"Goodbye world"
    assert header(get.headers, "Content-Length") == "13"


# ----------------------------------------------------------------------------- head timing
# When the app called start_response before returning, every middleware calls the server's
# before returning too: servers such as granian read the head only then (docs/servers.md).


def _middlewares():
    from wsgi_mw import Cache, Gzip, Logger

    return {
        "Rewrite": lambda app: Rewrite(app, RULES),
        "Gzip": lambda app: Gzip(app, min_size=0),
        "Cache": lambda app: Cache(app),
        "Logger": lambda app: Logger(app, sink=lambda record: None),
    }


@pytest.mark.parametrize("name", ["Rewrite", "Gzip", "Cache", "Logger"])
@pytest.mark.parametrize("shape", ["list", "stream"])
def test_head_reaches_the_server_before_the_middleware_returns(name, shape):
    app_class = ListApp if shape == "list" else EarlyStartStreamApp
    app = app_class([b"Hello ", b"world " * 200])
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip")
    server = Server()
    result = validator(_middlewares()[name](validator(app)))(environ, server.start_response)
    # Called, and not yet sent: the body has not started.
    assert server.start_calls == 1 and server.status == "200 OK"
    assert server.chunks == []
    for chunk in result:
        server.take(chunk)
    result.close()
    body = b"".join(server.chunks)
    if header(server.headers, "Content-Encoding") == "gzip":
        import gzip

        body = gzip.decompress(body)
    expected = b"Hello world " * 1 + b"world " * 199
    assert body == (expected.replace(b"Hello", b"Goodbye") if name == "Rewrite" else expected)
    length = header(server.headers, "Content-Length")
    assert length is None or int(length) == len(b"".join(server.chunks))
    assert app.body.closed == 1 if shape == "stream" else True


@pytest.mark.parametrize("name", ["Rewrite", "Gzip", "Cache", "Logger"])
def test_late_start_response_stays_late(name):
    app = LateStartApp([b"Hello world"])
    server = Server()
    result = validator(_middlewares()[name](validator(app)))(make_environ(), server.start_response)
    assert server.start_calls == 0
    for chunk in result:
        server.take(chunk)
    result.close()
    assert server.start_calls == 1


def test_early_gzip_head_with_an_empty_stream_is_a_valid_gzip_body():
    import gzip

    from wsgi_mw import Gzip

    app = EarlyStartStreamApp([], content_type="text/plain")
    server = Server()
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip")
    result = validator(Gzip(validator(app), min_size=0))(environ, server.start_response)
    for chunk in result:
        server.take(chunk)
    result.close()
    assert header(server.headers, "Content-Encoding") == "gzip"
    body = b"".join(server.chunks)
    # A whole gzip member (gzip.decompress(b"") would also give b"").
    assert body[:2] == b"\x1f\x8b"
    assert gzip.decompress(body) == b""


# --------------------------------------------------------------------------- late write()


class LateWriteApp:
    """Keeps the write() callable and uses it after its response is over."""

    def __init__(self):
        self.write = None

    def __call__(self, environ, start_response):
        self.write = start_response("200 OK", [("Content-Type", HTML)])
        self.write(b"Hello ")
        return CountingIterable([b"world"])


def layers():
    from wsgi_mw import Cache, Gzip, Logger

    return [
        pytest.param(lambda app: Rewrite(app, RULES), "Rewrite", id="Rewrite"),
        pytest.param(lambda app: Gzip(app, min_size=0), "Gzip", id="Gzip"),
        pytest.param(lambda app: Cache(app), "Cache", id="Cache"),
        pytest.param(lambda app: Logger(app, sink=None), "Logger", id="Logger"),
    ]


@pytest.mark.parametrize("when", ["exhausted", "closed_early"])
@pytest.mark.parametrize("wrap, name", layers())
def test_write_after_the_response_ended_raises_like_wsgiref(wrap, name, when):
    # The oracle: wsgiref's own handler raises AssertionError for a write() after the
    # response is finished; through our layers it was silently dropped.
    app = LateWriteApp()
    mw = wrap(app)
    server = Server()
    outer = mw(make_environ(HTTP_ACCEPT_ENCODING="gzip"), server.start_response)
    if when == "exhausted":
        for chunk in outer:
            server.take(chunk)
    else:
        server.take(next(iter(outer)))
    outer.close()
    with pytest.raises(AssertionError, match=f"{name}: write\\(\\) called after the response"):
        app.write(b"late")
    assert app.write is not None
    assert run(validator(mw), make_environ()).status == "200 OK"
