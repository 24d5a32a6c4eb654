"""Adversarial properties across the whole stack: hostile environ strings and header values
from a client, hostile chunk shapes and failures from an app.

Whatever a client or an app sends:

- nothing escapes but the app's own exception (never a PanicException, a UnicodeError or a
  TypeError of ours);
- no status or header we emit carries a control character, a character above U+00FF or a
  name that is not a token (RFC 9110 §5.1, §5.5), and wsgiref's validator outside agrees;
- the inner iterable's close() runs exactly once;
- the cost is linear in the input: counted in instructions by callgrind (a bounded step
  count, not a clock), 4x the input costs at most 6x the instructions (quadratic is 16x).

The oracles are RFC 9110's field syntax, wsgiref.validate and valgrind; none of them knows
the Rust side.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from wsgiref.validate import validator

import pytest
from conftest import CountingIterable, Server, finish, make_environ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5 field-value characters as a WSGI str: VCHAR, obs-text, SP and HTAB.
FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
STATUS = re.compile(r"[1-5][0-9][0-9] [\t\x20-\x7e\x80-\xff]*")


class AppError(Exception):
    """The app's own failure: the only exception allowed out of the stack."""


# --------------------------------------------------------------------------- strategies

HOSTILE_CHARS = [
    *"aZ09/.-_~%?&=;,:*\"' ",
    "\r",
    "\n",
    "\r\n ",
    "\x00",
    "\t",
    "\x7f",
    "\x1b",
    "\xe9",
    "\xff",
    "\udcff",
    "\ud800",
    "\u20ac",
    "gzip",
    "br",
    "q=0",
    "q=1",
    "no-cache",
    "max-age=0",
    "no-store",
    '"e1"',
    "W/",
    "bytes=0-1",
    "Hello",
    "..",
    "//",
    "@",
    "\\",
]
hostile_text = st.lists(st.sampled_from(HOSTILE_CHARS), max_size=40).map("".join)
maybe_text = st.one_of(st.none(), hostile_text)

REQUEST_FIELDS = [
    "PATH_INFO",
    "QUERY_STRING",
    "SCRIPT_NAME",
    "HTTP_HOST",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_CACHE_CONTROL",
    "HTTP_PRAGMA",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_X_CUSTOM",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_USER_AGENT",
    "HTTP_AUTHORIZATION",
    "wsgi.url_scheme",
]
methods = st.sampled_from(["GET", "GET", "HEAD", "POST", "DELETE", "OPTIONS", "G\udcffT", ""])
requests = st.fixed_dictionaries(
    {"REQUEST_METHOD": methods},
    optional={field: hostile_text for field in REQUEST_FIELDS},
)

RESPONSE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Type", "text/plain"),
    ("Content-Type", "image/png"),
    ("Cache-Control", "max-age=60"),
    ("Cache-Control", "no-store"),
    ("Cache-Control", "public, s-maxage=60"),
    ("Vary", "X-Custom"),
    ("Vary", "Accept-Encoding, X-Custom"),
    ("Vary", "*"),
    ("ETag", '"e1"'),
    ("ETag", 'W/"e1"'),
    ("Content-Encoding", "gzip"),
    ("Content-Range", "bytes 0-1/10"),
    ("Set-Cookie", "a=b"),
    ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
]
chunk = st.one_of(
    st.just(b""),
    st.binary(max_size=3),
    st.sampled_from([b"Hello world ", b"<p>Hello</p>" * 100, "caf\xe9 Hello".encode()]),
)
responses = st.fixed_dictionaries(
    {
        "status": st.sampled_from(
            [
                "200 OK",
                "200 OK",
                "404 Not Found",
                "301 Moved Permanently",
                "204 No Content",
                "304 Not Modified",
                "206 Partial Content",
                "500 Internal Server Error",
            ]
        ),
        "headers": st.lists(st.sampled_from(RESPONSE_HEADERS), max_size=5),
        "chunks": st.lists(chunk, max_size=12),
        "shape": st.sampled_from(["list", "iterable", "write_then_iterable", "late_start"]),
        "fail": st.sampled_from([None, None, None, "before_start", "after_start", "mid_body"]),
    }
)


class HostileApp:
    """Answers the response it was given, however it was told to; records its iterables."""

    def __init__(self, response):
        self.response = response
        self.bodies = []

    def __call__(self, environ, start_response):
        r = self.response
        if r["fail"] == "before_start":
            raise AppError("before start_response")
        headers = list(r["headers"])
        if r["status"][:3] in ("204", "304"):
            headers = [h for h in headers if h[0] != "Content-Type"]

        def start():
            return start_response(r["status"], headers)

        chunks = list(r["chunks"])
        if r["shape"] == "list":
            start()
            if r["fail"] == "after_start":
                raise AppError("after start_response")
            return chunks
        fail_at = len(chunks) // 2 if r["fail"] == "mid_body" else None

        def before_each(index):
            if index == fail_at:
                raise AppError("mid body")

        if r["shape"] == "write_then_iterable":
            write = start()
            if chunks:
                write(chunks.pop(0))
            body = CountingIterable(chunks, before_each=before_each)
        elif r["shape"] == "late_start":
            body = CountingIterable(chunks, start=start, before_each=before_each)
        else:
            start()
            body = CountingIterable(chunks, before_each=before_each)
        if r["fail"] == "after_start" and r["shape"] != "late_start":
            raise AppError("after start_response")
        self.bodies.append(body)
        return body


def router_stack(app):
    router = Router(default=app)
    router.add("GET", "/dir/", app)
    router.add("GET", "/users/{id:int}", app)
    router.mount("/api", app)
    return router


LOG = io.StringIO()

STACKS = {
    "full": lambda app: Logger(
        Cache(Gzip(Rewrite(router_stack(app), [("Hello", "Bye")]), min_size=0)),
        sink=LOG,
        trusted_proxies=["10.0.0.0/8"],
        format="json",
    ),
    "full_honor": lambda app: Logger(
        Cache(
            Gzip(Rewrite(router_stack(app), [(r"\bHello\b", "Bye")], regex=True)),
            request_directives="honor",
        ),
        sink=LOG,
    ),
    "cache": Cache,
    "gzip": lambda app: Gzip(app, min_size=0),
    "rewrite_regex": lambda app: Rewrite(app, [(r"(\w+)X|a", "<$1>")], regex=True),
    "router": router_stack,
    "logger": lambda app: Logger(app, sink=LOG),
}


def check_emitted(server):
    """RFC 9110 syntax of everything that reached the server's start_response."""
    if server.status is None:
        return
    assert STATUS.fullmatch(server.status), repr(server.status)
    for name, value in server.headers:
        assert type(name) is str and TOKEN.fullmatch(name), repr(name)
        assert type(value) is str and FIELD_VALUE.fullmatch(value), (name, value)


def serve(mw, environ):
    """Drive one request as a server would; AppError is the app's own and allowed."""
    server = Server()
    result = None
    try:
        result = mw(environ, server.start_response)
        for item in result:
            server.take(item)
    except AppError:
        pass
    finally:
        if result is not None and hasattr(result, "close"):
            result.close()
        check_emitted(server)
    return server


@pytest.mark.parametrize("stack", sorted(STACKS))
@PROPERTY
@given(request=requests, response=responses, again=st.booleans())
def test_hostile_requests_and_apps_never_break_the_stack(stack, request, response, again):
    app = HostileApp(response)
    mw = STACKS[stack](app)
    for _ in range(2 if again else 1):  # the second one may be answered from the cache
        environ = make_environ(**request)
        serve(mw, environ)
    for body in app.bodies:
        assert body.closed == 1, f"inner close() ran {body.closed} times"


@pytest.mark.parametrize("stack", sorted(STACKS))
@PROPERTY
@given(response=responses)
def test_a_well_behaved_request_passes_wsgirefs_validator_outside(stack, response):
    # PEP 3333 strings only here (the validator refuses lone surrogates by design); whatever
    # the app does, what we emit is valid.
    headers = {}
    for name, value in [("Content-Type", "text/html"), *response["headers"]]:
        headers[name] = value  # one of each, a Content-Type always (the validator's rules)
    app = HostileApp({**response, "headers": list(headers.items()), "fail": None})
    mw = validator(STACKS[stack](app))
    server = Server()
    result = mw(make_environ(HTTP_ACCEPT_ENCODING="gzip"), server.start_response)
    try:
        for item in result:
            server.take(item)
    finally:
        result.close()
    check_emitted(server)
    finish(server, {"REQUEST_METHOD": "GET"})
    for body in app.bodies:
        assert body.closed == 1


@PROPERTY
@given(path=hostile_text, other=hostile_text)
def test_different_paths_never_share_a_cache_entry(path, other):
    calls = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "max-age=60")])
        return [repr(environ["PATH_INFO"]).encode()]

    mw = Cache(app)
    bodies = {}
    for value in (path, other, path):
        server = serve(mw, make_environ(PATH_INFO=value))
        bodies.setdefault(value, set()).add(b"".join(server.chunks))
    for value, seen in bodies.items():
        assert seen == {repr(value).encode()}, (value, seen)


@PROPERTY
@given(value=hostile_text.filter(bool))
def test_logger_never_logs_a_present_value_as_absent(value):
    sink = io.StringIO()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    serve(Logger(app, sink=sink, format="json"), make_environ(HTTP_USER_AGENT=value))
    record = json.loads(sink.getvalue())
    assert record["user_agent"] is not None


# --------------------------------------------------------------------------- linear cost

VALGRIND = shutil.which("valgrind")

# One child interpreter measures every dimension: for each, a request at size n and at 4n
# (warmed up at n first), each measured section ended by os.getppid(), on which callgrind
# dumps its counters. The values are built before the section starts.
PROBE = textwrap.dedent(
    r"""
    import io, os, sys
    from wsgiref.util import setup_testing_defaults
    from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router

    def environ(**extra):
        env = dict(extra)
        setup_testing_defaults(env)
        return env

    def page(*headers, body=b"<p>hello</p>" * 100):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html"), *headers])
            return [body]
        return app

    def serve(app, env):
        out = app(env, lambda status, headers, exc_info=None: None)
        for _ in out:
            pass
        if hasattr(out, "close"):
            out.close()

    def many(prefix, n):
        return ", ".join(f"{prefix}{i}" for i in range(n // (len(prefix) + 6)))

    fresh = ("Cache-Control", "max-age=600")
    router = Router()
    router.add("GET", "/dir/", page())
    mounted = Router()
    mounted.add("GET", "/dir/", page())
    mounted.mount("/api/v1", page())
    text_body = lambda e: [b"a" * e["n"]]
    def body_app(make):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return make(environ)
        return app

    DIMENSIONS = {
        "accept_encoding": (
            lambda: Cache(Gzip(page(fresh))),
            lambda n: environ(HTTP_ACCEPT_ENCODING="gzip, " + many("x;q=0.", n)),
        ),
        "cache_control": (
            lambda: Cache(page(fresh)),
            lambda n: environ(HTTP_CACHE_CONTROL=many("x-d", n)),
        ),
        "pragma": (
            lambda: Cache(page(fresh)),
            lambda n: environ(HTTP_PRAGMA=many("x-p", n)),
        ),
        "if_none_match": (
            lambda: Cache(page(fresh, ("ETag", '"v1"'))),
            lambda n: environ(HTTP_IF_NONE_MATCH=many('W/"t', n)),
        ),
        "varied_header": (
            lambda: Cache(page(fresh, ("Vary", "X-Custom"))),
            lambda n: environ(HTTP_X_CUSTOM="v" * n),
        ),
        "vary_names": (
            lambda: Cache(lambda e, s: page(fresh, ("Vary", e["vary"]))(e, s)),
            # One URL per size: its Vary record holds that size's names.
            lambda n: environ(PATH_INFO=f"/v{n}", vary=many("X-H", n)),
        ),
        "x_forwarded_for": (
            lambda: Logger(page(), sink=io.StringIO(), trusted_proxies=["10.0.0.0/8"]),
            lambda n: environ(
                REMOTE_ADDR="10.0.0.1",
                HTTP_X_FORWARDED_FOR=", ".join(
                    f"10.0.{i // 256 % 256}.{i % 256}" for i in range(n // 13)
                ),
            ),
        ),
        "router_404_path": (lambda: router, lambda n: environ(PATH_INFO="/" + "p" * n)),
        # Many segments through a Router with mounts: the mount lookup once hashed every
        # prefix of the path, longest first (quadratic).
        "router_mount_segments": (lambda: mounted, lambda n: environ(PATH_INFO="/a" * (n // 2))),
        "router_308_query": (
            lambda: router,
            lambda n: environ(PATH_INFO="/dir", QUERY_STRING="a=\r\n\x00" * (n // 5)),
        ),
        "regex_pathological": (
            lambda: Rewrite(body_app(text_body), [(r"\w+X|a", "Y")], regex=True),
            lambda n: environ(n=n),
        ),
        "regex_word_boundary_non_ascii": (
            lambda: Rewrite(
                body_app(lambda e: ["\u4e16 Hello caf\u00e9 ".encode() * (e["n"] // 16)]),
                [(r"\bHello\b", "Bye")],
                regex=True,
            ),
            lambda n: environ(n=n),
        ),
        "tiny_chunks": (
            lambda: Gzip(Rewrite(body_app(lambda e: [b"H"] * e["n"]), [("Hello", "Bye")]), min_size=0),
            lambda n: environ(HTTP_ACCEPT_ENCODING="gzip", n=n),
        ),
    }
    n = int(sys.argv[1])
    names = sys.argv[2:]
    for name in names:
        make_app, make_environ = DIMENSIONS[name]
        app = make_app()
        small, large = make_environ(n), make_environ(4 * n)
        serve(app, dict(make_environ(64)))  # warm-up: first-use costs, a stored entry
        serve(app, dict(small))
        serve(app, dict(large))
        envs = [dict(small), dict(large)]
        os.getppid()  # dump: the section before this measurement
        serve(app, envs[0])
        os.getppid()  # dump: size n
        serve(app, envs[1])
        os.getppid()  # dump: size 4n
    """
)

LINEAR = [
    "accept_encoding",
    "cache_control",
    "pragma",
    "if_none_match",
    "varied_header",
    "vary_names",
    "x_forwarded_for",
    "router_404_path",
    "router_mount_segments",
    "router_308_query",
    "regex_pathological",
    "regex_word_boundary_non_ascii",
    "tiny_chunks",
]
N = 16 * 1024


def instructions(dump: Path) -> int:
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise AssertionError(f"no instruction total in {dump}")


@pytest.fixture(scope="module")
def instruction_counts():
    """{dimension: (instructions at n, at 4n)}, from one callgrind run of the probe."""
    assert VALGRIND, (
        "valgrind is needed to count instructions: apt-get install valgrind "
        "(.ci/run installs it; `make test` says so when it is missing)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(
            [
                VALGRIND,
                "--tool=callgrind",
                "--dump-before=getppid",
                "--dump-instr=no",
                "--compress-strings=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                PROBE,
                str(N),
                *LINEAR,
            ],
            check=True,
            capture_output=True,
            timeout=900,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        counts = [instructions(d) for d in dumps]
    # Per dimension: (before, n, 4n); the final dump (the exit) follows the last one.
    assert len(counts) >= 3 * len(LINEAR), counts
    return {name: (counts[3 * i + 1], counts[3 * i + 2]) for i, name in enumerate(LINEAR)}


@pytest.mark.parametrize("dimension", LINEAR)
def test_cost_is_linear_in_the_hostile_input(instruction_counts, dimension):
    small, large = instruction_counts[dimension]
    ratio = large / small
    assert ratio <= 6, (
        f"{dimension}: 4x the input took {ratio:.1f}x the instructions "
        f"({small} at {N} bytes, {large} at {4 * N}): not linear"
    )
