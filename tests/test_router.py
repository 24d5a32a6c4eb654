"""Router behaviour, written from the spec (issue 5 and the lead's decisions) as an independent oracle.

Patterns and converters, UTF-8 decoding, priority and method fallthrough, conflicts, HEAD,
405/Allow, 404 and `default`, slash redirects, routing_args and wsgi_mw.route, mounts (against
Werkzeug's DispatcherMiddleware itself), the compiled-once rule, url_for, every bad argument,
the decorator and `routes=`. Requests go through `wsgiref.validate.validator` on both sides of
the Router unless a test needs the bare objects (identity of the returned iterable, a method
the validator does not know). The differential test against Werkzeug's Map/Rule, the url_for
round trip, the mount property and the real server round trip are in test_router_props.py.
"""

from __future__ import annotations

import itertools
import re
import sys
from urllib.parse import quote, unquote, urlencode
from wsgiref.validate import validator

import pytest
from conftest import CountingIterable, header, make_environ, run
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wsgi_mw import Router

TEXT = "text/plain; charset=utf-8"
NOT_FOUND = b"Not Found\n"
NOT_ALLOWED = b"Method Not Allowed\n"
URL_SAFE = "!$&'()*+,;=:@"  # kept by url_for besides the unreserved characters


# --------------------------------------------------------------------------- helpers


class Target:
    """A route target. Records what it saw at call time (method, SCRIPT_NAME, PATH_INFO,
    wsgiorg.routing_args, wsgi_mw.route) and answers its own name as text/plain (HEAD: no
    body) through a CountingIterable, so identity and close() can be checked."""

    def __init__(self, name="target"):
        self.name = name
        self.seen = []

    @property
    def calls(self):
        return len(self.seen)

    @property
    def last(self):
        return self.seen[-1]

    def __call__(self, environ, start_response):
        self.seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "script_name": environ.get("SCRIPT_NAME", ""),
                "path_info": environ.get("PATH_INFO", ""),
                "routing_args": environ.get("wsgiorg.routing_args"),
                "route": environ.get("wsgi_mw.route"),
            }
        )
        body = b"" if environ["REQUEST_METHOD"] == "HEAD" else self.name.encode()
        start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(body)))])
        self.body = CountingIterable([body])
        return self.body


def env(path="/", method="GET", **overrides):
    """A test environ; `path` is the PATH_INFO as a WSGI server gives it (latin-1 str)."""
    return make_environ(REQUEST_METHOD=method, PATH_INFO=path, **overrides)


def wsgi_path(path: str) -> str:
    """PEP 3333: the UTF-8 bytes of the request path, as a latin-1 str."""
    return path.encode("utf-8").decode("latin-1")


def call(router, path="/", method="GET", *, validate=True, **overrides):
    """Run one request; validator outside the Router unless validate=False."""
    app = validator(router) if validate else router
    return run(app, env(path, method, **overrides))


def routed(*routes, **options):
    """(router, targets): one validator-wrapped Target per (methods, path[, name]) route."""
    router = Router(**options)
    targets = []
    for route in routes:
        methods, path, *rest = route
        target = Target(path)
        router.add(methods, path, validator(target), name=rest[0] if rest else None)
        targets.append(target)
    return router, targets


def params(target):
    """The named routing args the target saw last; checks the positional part is ()."""
    args = target.last["routing_args"]
    assert type(args) is tuple and len(args) == 2, args
    assert args[0] == (), args
    return args[1]


def assert_typed_equal(got, expected):
    assert got == expected
    for key, value in expected.items():
        assert type(got[key]) is type(value), (key, got[key], value)


def allow(response):
    value = header(response.headers, "Allow")
    assert value is not None, f"no Allow header in {response.headers}"
    methods = value.split(", ")
    assert methods == sorted(methods), f"Allow not sorted: {value!r}"
    return methods


def assert_not_found(response):
    assert response.status == "404 Not Found"
    assert header(response.headers, "Content-Type") == TEXT
    assert header(response.headers, "Content-Length") == str(len(NOT_FOUND))
    assert response.body == NOT_FOUND


def assert_not_allowed(response, methods):
    assert response.status == "405 Method Not Allowed"
    assert header(response.headers, "Content-Type") == TEXT
    assert header(response.headers, "Content-Length") == str(len(NOT_ALLOWED))
    assert response.body == NOT_ALLOWED
    assert allow(response) == methods


def assert_redirect(response, location):
    assert response.status == "308 Permanent Redirect"
    assert response.body == b""
    assert header(response.headers, "Content-Length") == "0"
    got = header(response.headers, "Location")
    assert got is not None
    assert got.isascii(), got
    assert " " not in got, got
    assert unquote(got) == location, got


def redirect(router, path, method="GET", **overrides):
    """A request expected to be redirected. Without the outer validator: it requires a
    Content-Type on a 308, which the spec's redirect does not list; that is checked once, in
    test_validator_both_sides_dispatch_404_405_308_default, so it fails on its own."""
    return call(router, path, method, validate=False, **overrides)


def served_by(router, targets, path, method="GET", **overrides):
    """The Target that answered (exactly one was called, with status 200), else None."""
    before = [t.calls for t in targets]
    response = call(router, path, method, **overrides)
    called = [t for t, n in zip(targets, before) if t.calls != n]
    assert len(called) <= 1, [t.name for t in called]
    if not called:
        assert response.status != "200 OK", response
        return None
    assert response.status == "200 OK"
    target = called[0]
    assert target.calls == before[targets.index(target)] + 1
    if method != "HEAD":
        assert response.body == target.name.encode()
    return target


# --------------------------------------------------------------------------- patterns


def test_static_route_dispatch_routing_args_and_template():
    router, (home, users) = routed(("GET", "/"), ("GET", "/users/list"))
    assert served_by(router, [home, users], "/") is home
    assert params(home) == {}
    assert home.last["route"] == "/"
    assert served_by(router, [home, users], "/users/list") is users
    assert users.last["route"] == "/users/list"
    assert users.last["path_info"] == "/users/list"
    assert users.last["script_name"] == ""
    for path in ("/users", "/users/list/x", "/users/lis", "/Users/list", "/x"):
        assert served_by(router, [home, users], path) is None, path


def test_name_param_is_one_non_empty_segment():
    router, (t,) = routed(("GET", "/users/{name}"))
    assert served_by(router, [t], "/users/bob") is t
    assert_typed_equal(params(t), {"name": "bob"})
    assert t.last["route"] == "/users/{name}"
    assert served_by(router, [t], "/users/a b.c-~%") is t
    assert params(t) == {"name": "a b.c-~%"}
    for path in ("/users/", "/users", "/users/a/b", "/users//"):
        assert_not_found(call(router, path))
    assert t.calls == 2


def test_int_param_digits_only_converted_to_int():
    router, (t,) = routed(("GET", "/n/{id:int}"))
    for raw, value in (("0", 0), ("42", 42), ("007", 7), ("99999999999999999999999", 10**23 - 1)):
        assert served_by(router, [t], f"/n/{raw}") is t, raw
        assert_typed_equal(params(t), {"id": value})
    assert t.last["route"] == "/n/{id:int}"
    for raw in ("-1", "+1", "1.5", "abc", "1a", " 1", "", "1/2"):
        assert served_by(router, [t], f"/n/{raw}") is None, raw


def test_an_int_longer_than_python_converts_is_not_found_never_an_error():
    # Any client can send it: CPython's int() refuses more than 4300 digits, and Werkzeug
    # answers 404 (its test_int_converter_404). It raised ValueError out of __call__.
    router, (t,) = routed(("GET", "/{a:int}"))
    assert_not_found(call(router, "/" + "1" * 4301))
    assert_not_found(call(router, "/" + "0" * 4301))
    assert served_by(router, [t], "/" + "7" * 4300) is t
    assert params(t) == {"a": int("7" * 4300)}
    # A route the long digits can match still takes them, as Werkzeug's next rule would.
    router, (number, text) = routed(("GET", "/n/{a:int}"), ("GET", "/n/{a}"))
    assert served_by(router, [number, text], "/n/" + "1" * 5000) is text
    assert params(text) == {"a": "1" * 5000}


def test_an_int_within_the_default_but_past_this_interpreters_limit_is_not_found():
    router, (t,) = routed(("GET", "/{a:int}"))
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        response = call(router, "/" + "1" * 2000)
    finally:
        sys.set_int_max_str_digits(before)
    assert_not_found(response)
    assert t.calls == 0
    assert served_by(router, [t], "/" + "1" * 2000) is t


@pytest.mark.parametrize(
    "path, problem",
    [
        ("/{a:int}-{b:int}", "holds more than one {param}"),
        ("/{a}{b}", "holds more than one {param}"),
        ("/v{n}", "has text beside a {param}"),
        ("/x/{n}.json", "has text beside a {param}"),
    ],
)
def test_a_parameter_that_is_not_a_whole_segment_is_named_as_such(path, problem):
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        Router().add("GET", path, app_ok)
    message = str(raised.value)
    assert "unknown converter" not in message and "unbalanced" not in message
    assert "{name:re:" in message, "it says what is allowed"


def test_path_param_takes_the_non_empty_rest():
    router, (t,) = routed(("GET", "/files/{rest:path}"))
    for rest in ("a", "a/b/c", "a/b/", "a//b", "é/x y", "a/"):
        assert served_by(router, [t], wsgi_path(f"/files/{rest}")) is t, rest
        assert_typed_equal(params(t), {"rest": rest})
    assert t.last["route"] == "/files/{rest:path}"
    for path in ("/files", "/files/", "/files//a", "/file/a"):
        assert served_by(router, [t], path) is None, path


def test_regex_param_must_match_the_whole_segment():
    router, (letters, alt) = routed(("GET", "/l/{w:re:[a-c]+}"), ("GET", "/alt/{w:re:ab|cd}"))
    targets = [letters, alt]
    for path, target, expected in (
        ("/l/abc", letters, {"w": "abc"}),
        ("/l/a", letters, {"w": "a"}),
        ("/alt/ab", alt, {"w": "ab"}),
        ("/alt/cd", alt, {"w": "cd"}),
    ):
        assert served_by(router, targets, path) is target, path
        assert_typed_equal(params(target), expected)
    assert alt.last["route"] == "/alt/{w:re:ab|cd}"
    for path in ("/l/abcd", "/l/dabc", "/l/", "/l/a/b", "/alt/abd", "/alt/xcd", "/alt/abcd"):
        assert served_by(router, targets, path) is None, path


def test_regex_with_a_brace_quantifier():
    # balanced braces inside REGEX belong to the regex (only unbalanced ones are an error)
    router, (year,) = routed(("GET", "/y/{year:re:[0-9]{4}}"))
    assert served_by(router, [year], "/y/2024") is year
    assert params(year) == {"year": "2024"}
    assert year.last["route"] == "/y/{year:re:[0-9]{4}}"
    for path in ("/y/202", "/y/20245", "/y/abcd"):
        assert served_by(router, [year], path) is None, path


def test_utf8_path_is_decoded_before_matching():
    router, (cafe, user) = routed(("GET", "/café"), ("GET", "/u/{name}"))
    # PATH_INFO is bytes-as-latin-1 (PEP 3333): "é" arrives as "\xc3\xa9".
    assert served_by(router, [cafe, user], "/caf\xc3\xa9") is cafe
    assert cafe.last["path_info"] == "/caf\xc3\xa9", "PATH_INFO is passed on unchanged"
    assert cafe.last["route"] == "/café"
    assert served_by(router, [cafe, user], wsgi_path("/u/Jürgen 日本")) is user
    assert_typed_equal(params(user), {"name": "Jürgen 日本"})
    # A latin-1 "é" is not the UTF-8 "é": no match.
    assert served_by(router, [cafe, user], "/café") is None


def test_invalid_utf8_is_replaced_not_an_error():
    router, (user, exact) = routed(("GET", "/u/{name}"), ("GET", "/r/\ufffd"))
    assert served_by(router, [user, exact], "/u/a\xffb") is user
    assert params(user) == {"name": "a\ufffdb"}
    assert served_by(router, [user, exact], "/r/\xff") is exact


def test_trailing_slash_is_significant():
    router, (bare, slash) = routed(("GET", "/dir"), ("GET", "/dir/"))
    assert served_by(router, [bare, slash], "/dir") is bare
    assert served_by(router, [bare, slash], "/dir/") is slash
    assert slash.last["route"] == "/dir/"


def test_several_params_and_static_between():
    router, (t,) = routed(("GET", "/orgs/{org}/repos/{id:int}/{file:path}"))
    assert served_by(router, [t], "/orgs/acme/repos/12/src/main.rs") is t
    assert_typed_equal(params(t), {"org": "acme", "id": 12, "file": "src/main.rs"})
    assert t.last["route"] == "/orgs/{org}/repos/{id:int}/{file:path}"
    assert served_by(router, [t], "/orgs/acme/repo/12/x") is None


# --------------------------------------------------------------------------- priority


PRIORITY_ROUTES = [
    ("/p/new", "static"),
    ("/p/{id:int}", "int"),
    ("/p/{slug:re:[a-z0-9]+}", "re"),
    ("/p/{name}", "name"),
    ("/p/{rest:path}", "path"),
]
PRIORITY_REQUESTS = [
    ("/p/new", "static", {}),
    ("/p/42", "int", {"id": 42}),
    ("/p/abc", "re", {"slug": "abc"}),
    ("/p/ne-w", "name", {"name": "ne-w"}),
    ("/p/ABC", "name", {"name": "ABC"}),
    ("/p/new/x", "path", {"rest": "new/x"}),
    ("/p/42/", "path", {"rest": "42/"}),
]


def test_priority_static_int_re_name_path_in_every_add_order():
    for order in itertools.permutations(PRIORITY_ROUTES):
        router = Router()
        targets = {}
        for path, label in order:
            targets[label] = Target(label)
            router.add("GET", path, targets[label])
        for path, label, expected in PRIORITY_REQUESTS:
            got = served_by(router, list(targets.values()), path)
            assert got is targets[label], (order, path, got and got.name)
            assert_typed_equal(params(got), expected)


def test_priority_is_segment_by_segment_with_backtracking():
    router, (dyn_first, static_first, deep) = routed(
        ("GET", "/{a}/x"), ("GET", "/b/{c}"), ("GET", "/{d}/{e:int}/z")
    )
    targets = [dyn_first, static_first, deep]
    # the static first segment wins, even though the other route is static later
    assert served_by(router, targets, "/b/x") is static_first
    assert params(static_first) == {"c": "x"}
    assert served_by(router, targets, "/q/x") is dyn_first
    # "/b/{c}" cannot take three segments: the search goes back to "{d}"
    assert served_by(router, targets, "/b/7/z") is deep
    assert_typed_equal(params(deep), {"d": "b", "e": 7})


def test_backtracking_out_of_a_longer_static_branch():
    router, (long, other) = routed(("GET", "/a/b/c"), ("GET", "/a/{x}/d"))
    assert served_by(router, [long, other], "/a/b/d") is other
    assert params(other) == {"x": "b"}


def test_method_falls_through_to_lower_priority_route():
    router, (typed, plain) = routed((["POST"], "/p/{id:int}"), ("GET", "/p/{name}"))
    targets = [typed, plain]
    assert served_by(router, targets, "/p/42") is plain
    assert_typed_equal(params(plain), {"name": "42"})
    assert served_by(router, targets, "/p/42", "POST") is typed
    assert_typed_equal(params(typed), {"id": 42})
    assert served_by(router, targets, "/p/42", "HEAD") is plain
    assert_not_allowed(call(router, "/p/42", "PUT"), ["GET", "HEAD", "POST"])
    assert_not_allowed(call(router, "/p/abc", "POST"), ["GET", "HEAD"])


def test_star_route_below_a_typed_route_takes_other_methods():
    router, (typed, star) = routed(("GET", "/x/{a:int}"), ("*", "/x/{b}"))
    assert served_by(router, [typed, star], "/x/5") is typed
    assert served_by(router, [typed, star], "/x/5", "POST") is star
    assert params(star) == {"b": "5"}


# --------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize(
    "first, second",
    [
        (("GET", "/users/{id}"), (["GET", "POST"], "/users/{name}")),
        (("GET", "/a/{x:int}/b"), ("GET", "/a/{y:int}/b")),
        (("GET", "/s"), ("get", "/s")),
        (("*", "/s/{p:path}"), ("DELETE", "/s/{q:path}")),
        (("PUT", "/r/{w:re:[a-z]+}"), (["PATCH", "PUT"], "/r/{v:re:[a-z]+}")),
        (("GET", "/dir/"), ("GET", "/dir/")),
    ],
    ids=["name-names-ignored", "int", "lowercase", "star", "re", "trailing-slash"],
)
def test_same_pattern_overlapping_methods_rejected_naming_both(first, second):
    router = Router()
    router.add(first[0], first[1], Target())
    with pytest.raises(ValueError) as info:
        router.add(second[0], second[1], Target())
    message = str(info.value)
    assert first[1] in message and second[1] in message, message
    assert len(router) == 1
    # the same through routes=
    with pytest.raises(ValueError) as info:
        Router(routes=[(first[0], first[1], Target()), (second[0], second[1], Target())])
    assert first[1] in str(info.value) and second[1] in str(info.value)


def test_same_pattern_disjoint_methods_and_different_shapes_coexist():
    router, targets = routed(
        ("GET", "/u/{id}"),
        (["POST", "PUT"], "/u/{name}"),
        ("GET", "/u/{id:int}"),
        ("GET", "/u/{id:path}"),
        ("GET", "/u/{w:re:[a-z]+}"),
        ("GET", "/u/me"),
        ("GET", "/u/{id}/"),
    )
    assert len(router) == 7
    get_name, post_name, *_ = targets
    assert served_by(router, targets, "/u/Bob") is get_name
    assert params(get_name) == {"id": "Bob"}
    assert served_by(router, targets, "/u/Bob", "PUT") is post_name
    assert params(post_name) == {"name": "Bob"}


# --------------------------------------------------------------------------- methods


def test_head_is_served_by_get_route():
    router, (t,) = routed(("GET", "/x"))
    response = call(router, "/x", "HEAD")
    assert response.status == "200 OK"
    assert t.calls == 1
    assert t.last["method"] == "HEAD", "the app sees the real method"


def test_methods_forms_str_iterable_star_and_case():
    router = Router()
    get, post, many, gen, star = (Target(n) for n in ("get", "post", "many", "gen", "star"))
    router.add("GET", "/get", get)
    router.add("post", "/post", post)
    router.add({"PUT", "delete"}, "/many", many)
    router.add((m for m in ["PATCH"]), "/gen", gen)
    router.add("*", "/star", star)
    targets = [get, post, many, gen, star]
    assert served_by(router, targets, "/post", "POST") is post
    assert served_by(router, targets, "/many", "PUT") is many
    assert served_by(router, targets, "/many", "DELETE") is many
    assert served_by(router, targets, "/gen", "PATCH") is gen
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        assert served_by(router, targets, "/star", method) is star, method
    assert_not_allowed(call(router, "/get", "POST"), ["GET", "HEAD"])
    assert_not_allowed(call(router, "/post"), ["POST"])
    assert_not_allowed(call(router, "/many"), ["DELETE", "PUT"])


def test_star_route_takes_unknown_methods():
    star = Target("star")
    router = Router(routes=[("*", "/x", star)])
    response = call(router, "/x", "FROB", validate=False)  # the validator warns on FROB
    assert response.status == "200 OK"
    assert star.last["method"] == "FROB"


def test_405_allow_lists_every_route_matching_the_path():
    router, targets = routed(
        ("POST", "/x/{a}"), ("PUT", "/x/{b:int}"), ("DELETE", "/x/{c:path}"), ("GET", "/x/{d}/")
    )
    assert_not_allowed(call(router, "/x/5", "PATCH"), ["DELETE", "POST", "PUT"])
    assert_not_allowed(call(router, "/x/abc", "PATCH"), ["DELETE", "POST"])
    assert_not_allowed(call(router, "/x/a/b", "GET"), ["DELETE"])
    assert_not_allowed(call(router, "/x/5/", "POST"), ["DELETE", "GET", "HEAD"])
    assert all(t.calls == 0 for t in targets)


def test_405_allow_includes_head_for_get_and_unknown_method():
    router, _ = routed((["PUT", "GET"], "/x"))
    assert_not_allowed(call(router, "/x", "POST"), ["GET", "HEAD", "PUT"])
    response = call(router, "/x", "FROB", validate=False)
    assert_not_allowed(response, ["GET", "HEAD", "PUT"])


def test_head_404_and_405_same_headers_empty_body():
    router, _ = routed(("POST", "/x"))
    for path in ("/nope", "/x"):
        get = call(router, path, "GET")
        head = call(router, path, "HEAD")
        assert head.status == get.status
        assert sorted(head.headers) == sorted(get.headers)
        assert head.body == b""
        assert get.body in (NOT_FOUND, NOT_ALLOWED)


def test_404_without_default():
    router, (t,) = routed(("GET", "/x"))
    assert_not_found(call(router, "/"))
    assert_not_found(call(router, "/y"))
    assert_not_found(call(router, "/x/y"))
    assert t.calls == 0
    assert_not_found(call(Router(), "/"))


def test_default_app_gets_unmatched_requests_only():
    fallback = Target("fallback")
    router = Router(default=validator(fallback))
    x = Target("x")
    router.add("GET", "/x", validator(x))
    router.add("GET", "/dir/", validator(Target("dir")))
    response = call(router, "/elsewhere", "GET", QUERY_STRING="q=1")
    assert response.status == "200 OK" and response.body == b"fallback"
    assert fallback.last["path_info"] == "/elsewhere"
    assert fallback.last["script_name"] == ""
    # path matched with the wrong method: 405, not the default
    assert_not_allowed(call(router, "/x", "POST"), ["GET", "HEAD"])
    # a slash redirect comes before the default
    assert_redirect(redirect(router, "/dir", HTTP_HOST="h"), "http://h/dir/")
    assert served_by(router, [x], "/x") is x
    assert fallback.calls == 1


def test_router_as_middleware_in_front_of_an_app():
    legacy = Target("legacy")
    router = Router(default=legacy)
    router.add("GET", "/new", Target("new"))
    response = call(router, "/old/page", "POST")
    assert response.body == b"legacy"
    assert legacy.last["method"] == "POST"
    assert legacy.last["path_info"] == "/old/page"


def test_the_apps_own_iterable_is_returned():
    t = Target("t")
    fallback = Target("fallback")
    router = Router(routes=[("GET", "/x/{id:int}", t)], default=fallback)

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    result = router(env("/x/1"), start_response)
    assert result is t.body
    result.close()
    assert t.body.closed == 1
    result = router(env("/nope"), start_response)
    assert result is fallback.body
    result.close()


# --------------------------------------------------------------------------- slash redirects


def test_redirect_adds_the_missing_slash():
    router, (t,) = routed(("GET", "/dir/"))
    response = redirect(router, "/dir", HTTP_HOST="example.com")
    assert_redirect(response, "http://example.com/dir/")
    assert t.calls == 0


def test_redirect_removes_the_extra_slash():
    router, (t,) = routed(("GET", "/dir"))
    assert_redirect(redirect(router, "/dir/", HTTP_HOST="example.com"), "http://example.com/dir")
    assert t.calls == 0


def test_redirect_with_params_keeps_the_raw_segments():
    router, _ = routed(("GET", "/users/{id:int}/"), ("GET", "/f/{p:path}"))
    assert_redirect(redirect(router, "/users/007", HTTP_HOST="h"), "http://h/users/007/")
    # "/f/a/" is matched by the path route itself: no redirect
    assert call(router, "/f/a/").status == "200 OK"


def test_redirect_location_is_absolute_from_the_environ():
    router, _ = routed(("GET", "/dir/"))
    cases = [
        # (environ overrides, expected Location)
        (
            {"HTTP_HOST": "example.com:8443", "wsgi.url_scheme": "https", "SCRIPT_NAME": "/app",
             "QUERY_STRING": "a=1&b=%20x"},
            "https://example.com:8443/app/dir/?a=1&b=%20x",
        ),
        ({"HTTP_HOST": "example.com", "SERVER_NAME": "other", "SERVER_PORT": "81"},
         "http://example.com/dir/"),
        ({"SERVER_NAME": "srv", "SERVER_PORT": "8080"}, "http://srv:8080/dir/"),
        ({"SERVER_NAME": "srv", "SERVER_PORT": "80"}, "http://srv/dir/"),
        ({"SERVER_NAME": "srv", "SERVER_PORT": "443", "wsgi.url_scheme": "https"},
         "https://srv/dir/"),
        ({"SERVER_NAME": "srv", "SERVER_PORT": "80", "wsgi.url_scheme": "https"},
         "https://srv:80/dir/"),
        ({"SERVER_NAME": "srv", "SERVER_PORT": "443"}, "http://srv:443/dir/"),
    ]  # fmt: skip
    for overrides, expected in cases:
        environ = env("/dir", **overrides)
        if "HTTP_HOST" not in overrides:
            del environ["HTTP_HOST"]
        response = run(router, environ)
        assert response.status == "308 Permanent Redirect", overrides
        # compared exactly: the query string is kept as sent, not re-encoded
        assert header(response.headers, "Location") == expected, overrides


def test_redirect_without_query_string_key_has_no_question_mark():
    router, _ = routed(("GET", "/dir/"))
    environ = env("/dir", HTTP_HOST="h")
    del environ["QUERY_STRING"]
    response = run(router, environ)  # the validator warns when QUERY_STRING is missing
    assert header(response.headers, "Location") == "http://h/dir/"
    response = redirect(router, "/dir", HTTP_HOST="h", QUERY_STRING="")
    assert header(response.headers, "Location") == "http://h/dir/"


def test_redirect_location_is_percent_encoded():
    router, _ = routed(("GET", "/café/"))
    response = redirect(router, "/caf\xc3\xa9", HTTP_HOST="h", SCRIPT_NAME="/my app")
    assert_redirect(response, "http://h/my app/café/")
    location = header(response.headers, "Location")
    assert "%C3%A9" in location.upper()


def test_redirect_only_for_a_route_allowing_the_method():
    router, _ = routed(("POST", "/dir/"))
    assert_not_found(call(router, "/dir", "GET"))
    assert_redirect(redirect(router, "/dir", "POST", HTTP_HOST="h"), "http://h/dir/")
    router, _ = routed(("GET", "/dir/"))
    assert_redirect(redirect(router, "/dir", "HEAD", HTTP_HOST="h"), "http://h/dir/")
    assert_not_found(call(router, "/dir", "DELETE"))


def test_no_redirect_when_the_path_matches_or_the_method_is_wrong():
    router, (name, _slash) = routed(("GET", "/{name}"), ("GET", "/x/"))
    assert served_by(router, [name], "/x") is name
    router, _ = routed(("POST", "/x"), ("GET", "/x/"))
    assert_not_allowed(call(router, "/x", "GET"), ["POST"])


def test_redirect_slashes_false_gives_404():
    router, _ = routed(("GET", "/dir/"), ("GET", "/file"), redirect_slashes=False)
    assert router.redirect_slashes is False
    assert_not_found(call(router, "/dir"))
    assert_not_found(call(router, "/file/"))
    fallback = Target("fallback")
    router = Router(default=fallback, redirect_slashes=False)
    router.add("GET", "/dir/", Target())
    assert call(router, "/dir").body == b"fallback"


# --------------------------------------------------------------------------- environ


def test_routing_args_merge_with_existing():
    router, (t,) = routed(("GET", "/u/{id:int}/{tab}"))
    existing = ((1, "two"), {"a": 1, "id": "old"})
    call(router, "/u/5/info", **{"wsgiorg.routing_args": existing})
    args = t.last["routing_args"]
    assert args[0] == (1, "two")
    assert_typed_equal(args[1], {"a": 1, "id": 5, "tab": "info"})
    assert t.last["route"] == "/u/{id:int}/{tab}"


def test_routing_args_fresh_environ():
    router, (t,) = routed(("GET", "/u/{id:int}"))
    call(router, "/u/3")
    assert t.last["routing_args"] == ((), {"id": 3})


def test_nested_router_sees_script_name_and_merges_args():
    inner = Router()
    user = Target("user")
    inner.add("GET", "/users/{id:int}", validator(user))
    inner.add("GET", "/dir/", validator(Target("dir")))
    outer = Router()
    outer.mount("/api", inner)  # no validator around a router that will redirect: see redirect()
    response = call(outer, "/api/users/5")
    assert response.body == b"user"
    assert user.last["script_name"] == "/api"
    assert user.last["path_info"] == "/users/5"
    assert user.last["routing_args"] == ((), {"id": 5})
    assert user.last["route"] == "/users/{id:int}"
    # the inner router's redirect includes the SCRIPT_NAME the mount set
    assert_redirect(redirect(outer, "/api/dir", HTTP_HOST="h"), "http://h/api/dir/")


# --------------------------------------------------------------------------- mounts


class Tagged:
    """Appends (tag, SCRIPT_NAME, PATH_INFO) to a shared log."""

    def __init__(self, tag, log):
        self.tag = tag
        self.log = log

    def __call__(self, environ, start_response):
        self.log.append((self.tag, environ.get("SCRIPT_NAME"), environ.get("PATH_INFO")))
        start_response("200 OK", [("Content-Type", TEXT)])
        return [self.tag.encode()]


def mount_both(prefixes, path, script_name="/mnt", method="GET"):
    """What Werkzeug's DispatcherMiddleware and the Router (with default = the root app) give
    on the same environ: two (tag, SCRIPT_NAME, PATH_INFO) triples."""
    results = []
    for kind in ("werkzeug", "router"):
        log = []
        root = Tagged("root", log)
        mounts = {prefix: Tagged(prefix, log) for prefix in prefixes}
        if kind == "werkzeug":
            app = DispatcherMiddleware(root, mounts)
        else:
            app = Router(default=root)
            for prefix, mounted in mounts.items():
                assert app.mount(prefix, mounted) is None
        response = run(app, env(path, method, SCRIPT_NAME=script_name))
        assert response.status == "200 OK"
        assert len(log) == 1
        results.append(log[0])
    return results


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/api", ("/api", "/mnt/api", "")),
        ("/api/", ("/api", "/mnt/api", "/")),
        ("/apix", ("root", "/mnt", "/apix")),
        ("/api/v2/z", ("/api/v2", "/mnt/api/v2", "/z")),
    ],
)
def test_mount_cases_of_the_issue_match_dispatcher_middleware(path, expected):
    werkzeug, ours = mount_both(["/api", "/api/v2"], path)
    assert werkzeug == expected, "the issue's table vs Werkzeug itself"
    assert ours == werkzeug


@pytest.mark.parametrize(
    "path",
    ["/", "", "/api/v2", "/api/v2/", "/api/v", "/api/v2x", "/api//x", "/other/api", "/Api",
     "/api/v2/z/", "/a", "/api/x/v2"],
)  # fmt: skip
def test_more_mount_paths_match_dispatcher_middleware(path):
    werkzeug, ours = mount_both(["/api", "/api/v2", "/a/b"], path)
    assert ours == werkzeug


def test_non_ascii_mount_matches_like_a_route_does():
    """Mounts and routes are both written in Unicode: mount("/café") matches a request for
    /caf%C3%A9 (PATH_INFO "/caf\xc3\xa9", PEP 3333's latin-1), exactly as Werkzeug's
    DispatcherMiddleware does with the prefix written as the server gives it."""
    raw = unquote("/caf%C3%A9/menu", encoding="latin-1")
    log = []
    router = Router()
    router.mount("/café", Tagged("cafe", log))
    werkzeug_log = []
    werkzeug = DispatcherMiddleware(
        Tagged("root", werkzeug_log), {"/caf\xc3\xa9": Tagged("cafe", werkzeug_log)}
    )
    assert run(validator(router), env(raw, "GET", SCRIPT_NAME="")).status == "200 OK"
    run(werkzeug, env(raw, "GET", SCRIPT_NAME=""))
    assert log == werkzeug_log == [("cafe", "/caf\xc3\xa9", "/menu")]
    # The same path as a route matches too: one rule for both.
    routed_router, (target,) = routed(("GET", "/café/menu"))
    assert call(routed_router, raw).status == "200 OK"
    assert target.calls == 1
    # Text that is not UTF-8 of the prefix does not match it.
    assert call(router, "/café/menu").status.startswith("404")


def test_mount_with_empty_script_name_and_any_method():
    for method in ("GET", "POST", "DELETE"):
        werkzeug, ours = mount_both(["/api"], "/api/x", script_name="", method=method)
        assert ours == werkzeug == ("/api", "/api", "/x")


def test_mounts_come_before_routes():
    log = []
    router = Router()
    route = Target("route")
    router.add("GET", "/api/x", route)
    router.add("GET", "/apix", route)
    router.mount("/api", Tagged("api", log))
    assert call(router, "/api/x").body == b"api"
    assert route.calls == 0
    assert log == [("api", "/api", "/x")]
    assert call(router, "/apix").body == b"route"


def test_mount_validator_both_sides():
    inner = Target("inner")
    router = Router()
    router.mount("/api", validator(inner))
    response = call(router, "/api/v1/x", SCRIPT_NAME="/mnt")
    assert response.status == "200 OK" and response.body == b"inner"
    assert (inner.last["script_name"], inner.last["path_info"]) == ("/mnt/api", "/v1/x")


# --------------------------------------------------------------------------- compiled once


@pytest.mark.parametrize("first_path", ["/x", "/nope"])
def test_add_mount_route_after_first_request_raise(first_path):
    router, (t,) = routed(("GET", "/x"))
    call(router, first_path)
    with pytest.raises(RuntimeError, match="compiled once"):
        router.add("GET", "/y", Target())
    with pytest.raises(RuntimeError, match="compiled once"):
        router.mount("/m", Target())
    with pytest.raises(RuntimeError, match="compiled once"):

        @router.route("/z")
        def z(environ, start_response):  # pragma: no cover - never called
            raise AssertionError

    assert len(router) == 1
    assert_not_found(call(router, "/y"))
    assert_not_found(call(router, "/m"))
    assert served_by(router, [t], "/x") is t


def test_request_through_a_mount_counts_as_serving():
    router = Router()
    router.mount("/m", Target("m"))
    call(router, "/m/x")
    with pytest.raises(RuntimeError):
        router.add("GET", "/y", Target())


# --------------------------------------------------------------------------- url_for


def norm(url: str) -> str:
    """Percent escapes in upper case (the hex case is not part of the spec)."""
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group().upper(), url)


def url_router():
    router = Router()
    router.add("GET", "/", Target(), name="home")
    router.add("GET", "/users/{id:int}", Target(), name="user")
    router.add("GET", "/n/{who}/", Target(), name="named")
    router.add("GET", "/files/{rest:path}", Target(), name="file")
    router.add("GET", "/w/{word:re:[a-c]+}", Target(), name="word")
    return router


def test_url_for_static_int_and_trailing_slash():
    router = url_router()
    assert router.url_for("home") == "/"
    assert router.url_for("user", id=5) == "/users/5"
    assert router.url_for("user", id=0) == "/users/0"
    assert router.url_for("named", who="bob") == "/n/bob/"
    assert router.url_for("word", word="abca") == "/w/abca"


def test_url_for_percent_encodes_utf8():
    router = url_router()
    value = "a b/c?d#e%f é~!$&'()*+,;=:@-._"
    expected = "/n/" + quote(value, safe=URL_SAFE) + "/"
    assert "%2F" in expected and "%C3%A9" in expected and "~" in expected
    assert norm(router.url_for("named", who=value)) == expected
    rest = "dir/sub dir/é?.txt"
    assert norm(router.url_for("file", rest=rest)) == "/files/" + quote(rest, safe=URL_SAFE + "/")
    assert router.url_for("file", rest="a/b").count("/") == 3


def test_url_for_encodes_static_segments_too():
    router = Router()
    router.add("GET", "/café/{x}", Target(), name="cafe")
    assert norm(router.url_for("cafe", x="é")) == "/caf%C3%A9/%C3%A9"


def test_url_for_extra_params_become_a_query_string_in_order():
    router = url_router()
    got = router.url_for("user", id=5, q="a b&c", page=2, z="é").replace("%20", "+")
    assert norm(got) == "/users/5?" + urlencode([("q", "a b&c"), ("page", 2), ("z", "é")])
    got = router.url_for("home", b="1", a="2")
    assert got == "/?b=1&a=2"


def test_url_for_errors():
    router = url_router()
    with pytest.raises(ValueError, match="nosuchroute"):
        router.url_for("nosuchroute")
    with pytest.raises(ValueError, match=r"\bid\b"):
        router.url_for("user")
    with pytest.raises(ValueError, match=r"\bwho\b"):
        router.url_for("named", other="x")
    for bad in (True, False, "5", 5.0, None):
        with pytest.raises((TypeError, ValueError)):
            router.url_for("user", id=bad)
    with pytest.raises((TypeError, ValueError)):
        router.url_for("user", id=-1)
    for bad in ("abcd", "", "ab/c", "A"):
        with pytest.raises(ValueError):
            router.url_for("word", word=bad)


def test_url_for_is_relative_to_script_name():
    router = url_router()
    call(router, "/users/5", SCRIPT_NAME="/app")
    assert router.url_for("user", id=5) == "/users/5"


# --------------------------------------------------------------------------- decorator, routes=


def test_route_decorator_returns_the_function_and_defaults_to_get():
    router = Router()

    def show(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT)])
        return [repr(environ["wsgiorg.routing_args"][1]).encode()]

    decorated = router.route("/items/{id:int}", name="item")(show)
    assert decorated is show

    @router.route("/items", methods=("POST", "PUT"))
    def create(environ, start_response):
        start_response("201 Created", [("Content-Type", TEXT)])
        return [b"created"]

    assert create.__name__ == "create" and callable(create)
    assert len(router) == 2
    assert router.url_for("item", id=7) == "/items/7"
    assert call(router, "/items/7").body == b"{'id': 7}"
    assert call(router, "/items", "PUT").status == "201 Created"
    assert_not_allowed(call(router, "/items"), ["POST", "PUT"])
    assert_not_allowed(call(router, "/items/7", "POST"), ["GET", "HEAD"])


def test_routes_tuples_equal_add_calls():
    specs = [
        ("GET", "/", "home"),
        (["GET", "POST"], "/u/{id:int}", "user"),
        ("*", "/any/{p:path}", "any"),
        ("PUT", "/u/{name}", "name"),
        ("GET", "/dir/", "dir"),
    ]
    requests = [
        ("/", "GET"), ("/", "POST"), ("/u/1", "POST"), ("/u/1", "PUT"), ("/u/x", "PUT"),
        ("/u/x", "GET"), ("/any/a/b", "DELETE"), ("/dir", "GET"), ("/nope", "GET"),
    ]  # fmt: skip

    def outcomes(router, targets):
        result = []
        for path, method in requests:
            before = [t.calls for t in targets]
            response = call(router, path, method, validate=False, HTTP_HOST="h")
            who = [t.name for t, n in zip(targets, before) if t.calls != n]
            result.append((response.status, response.body, header(response.headers, "Allow"),
                           header(response.headers, "Location"), who))  # fmt: skip
        return result

    by_add = [Target(name) for *_, name in specs]
    router_add = Router()
    for (methods, path, _), target in zip(specs, by_add):
        router_add.add(methods, path, target)

    by_routes = [Target(name) for *_, name in specs]
    router_routes = Router(routes=((m, p, t) for (m, p, _), t in zip(specs, by_routes)))
    assert len(router_add) == len(router_routes) == len(specs)
    expected = outcomes(router_add, by_add)
    assert expected == outcomes(router_routes, by_routes)
    assert [o[0] for o in expected] == [
        "200 OK", "405 Method Not Allowed", "200 OK", "200 OK", "200 OK",
        "405 Method Not Allowed", "200 OK", "308 Permanent Redirect", "404 Not Found",
    ]  # fmt: skip
    assert [o[4] for o in expected] == [
        ["home"], [], ["user"], ["name"], ["name"], [], ["any"], [], [],
    ]  # fmt: skip


def test_attributes_len_repr():
    fallback = Target()
    router = Router(default=fallback)
    assert router.default is fallback
    assert router.redirect_slashes is True
    assert len(router) == 0
    assert router.add("GET", "/a", Target()) is None
    router.add(["GET", "POST"], "/b", Target())
    router.mount("/m", Target())
    assert len(router) == 2
    # The repr names every option, the default app included.
    assert repr(router) == (
        f"<wsgi_mw.Router: 2 routes, 1 mount, default={fallback!r}, redirect_slashes=True>"
    )
    assert repr(Router(redirect_slashes=False)) == (
        "<wsgi_mw.Router: 0 routes, 0 mounts, default=None, redirect_slashes=False>"
    )
    assert Router().default is None
    assert Router(redirect_slashes=False).redirect_slashes is False


# --------------------------------------------------------------------------- bad arguments


def app_ok(environ, start_response):  # pragma: no cover - never called
    raise AssertionError


@pytest.mark.parametrize(
    "path",
    [
        "/x/{a:float}",  # unknown converter
        "/x/{a:re}",  # re without a regex (unknown converter form)
        "/x/{a",  # unbalanced
        "/x/a}",
        "/x/{a}}",
        "/x/{{a}",
        "/x/{a:re:[a-}",  # invalid regex
        "/x/{a:re:(}",
        "/x/{a:re:a/b}",  # regex containing "/"
        "x/{a}",  # not starting with "/"
        "",
        "/x/{}",  # empty param name
        "/x/{:int}",
        "/x/{a}/{a:int}",  # duplicate param name
        "/x/{p:path}/y",  # path not last
        "/{p:path}/{q}",
        "/x/a{b}",  # mixed segment
        "/x/{b}c",
    ],
)
def test_bad_path_value_error_names_path(path):
    router = Router()
    with pytest.raises(ValueError, match=r"\bpath\b"):
        router.add("GET", path, app_ok)
    with pytest.raises(ValueError, match=r"\bpath\b"):
        router.route(path)(app_ok)
    with pytest.raises(ValueError, match=r"\bpath\b"):
        Router(routes=[("GET", path, app_ok)])
    assert len(router) == 0


def test_duplicate_name_value_error_names_name():
    router = Router()
    router.add("GET", "/a", app_ok, name="dup")
    with pytest.raises(ValueError, match=r"\bname\b"):
        router.add("GET", "/b", app_ok, name="dup")
    with pytest.raises(ValueError, match=r"\bname\b"):
        router.route("/c", name="dup")(app_ok)
    assert len(router) == 1
    assert router.url_for("dup") == "/a"


@pytest.mark.parametrize("prefix", ["api", "/api/", "/", ""])
def test_bad_mount_prefix_value_error(prefix):
    with pytest.raises(ValueError, match=r"\bprefix\b"):
        Router().mount(prefix, app_ok)


def test_duplicate_mount_prefix_value_error():
    router = Router()
    router.mount("/api", app_ok)
    with pytest.raises(ValueError, match=r"\bprefix\b"):
        router.mount("/api", app_ok)


@pytest.mark.parametrize("methods", [[], (), set()])
def test_empty_methods_value_error(methods):
    with pytest.raises(ValueError, match=r"\bmethods\b"):
        Router().add(methods, "/x", app_ok)
    with pytest.raises(ValueError, match=r"\bmethods\b"):
        Router().route("/x", methods=methods)(app_ok)


@pytest.mark.parametrize("methods", [5, None, [1], [b"GET"], b"GET", ["GET", None]])
def test_bad_methods_type_error(methods):
    with pytest.raises(TypeError, match=r"\bmethods\b"):
        Router().add(methods, "/x", app_ok)


@pytest.mark.parametrize("app", [None, 5, "app", b"x"])
def test_non_callable_app_type_error(app):
    with pytest.raises(TypeError, match=r"\bapp\b"):
        Router().add("GET", "/x", app)
    with pytest.raises(TypeError, match=r"\bapp\b"):
        Router().mount("/m", app)
    with pytest.raises(TypeError, match=r"\b(app|routes)\b"):
        Router(routes=[("GET", "/x", app)])


def test_route_decorator_on_non_callable_type_error():
    with pytest.raises(TypeError):
        Router().route("/x")(5)


@pytest.mark.parametrize("path", [b"/x", 5, None])
def test_non_str_path_type_error(path):
    with pytest.raises(TypeError, match=r"\bpath\b"):
        Router().add("GET", path, app_ok)


@pytest.mark.parametrize("prefix", [b"/api", 5, None])
def test_non_str_prefix_type_error(prefix):
    with pytest.raises(TypeError, match=r"\bprefix\b"):
        Router().mount(prefix, app_ok)


@pytest.mark.parametrize("name", [5, b"n"])
def test_non_str_name_type_error(name):
    with pytest.raises(TypeError, match=r"\bname\b"):
        Router().add("GET", "/x", app_ok, name=name)


@pytest.mark.parametrize(
    "routes",
    [5, [("GET", "/x")], [("GET", "/x", app_ok, "extra")], [5]],
    ids=["not-iterable", "2-tuple", "4-tuple", "int-item"],
)
def test_bad_routes_type_error(routes):
    with pytest.raises(TypeError, match=r"\broutes\b"):
        Router(routes=routes)


@pytest.mark.parametrize("default", [5, "app"])
def test_bad_default_type_error(default):
    with pytest.raises(TypeError, match=r"\bdefault\b"):
        Router(default=default)


def test_default_and_redirect_slashes_are_keyword_only():
    with pytest.raises(TypeError):
        Router(None, app_ok)
    assert len(Router([("GET", "/x", app_ok)])) == 1  # routes is positional


# --------------------------------------------------------------------------- validator


def test_validator_both_sides_dispatch_404_405_308_default():
    hit = Target("hit")
    fallback = Target("fallback")
    router = Router(default=validator(fallback))
    router.add("GET", "/hit/{id:int}", validator(hit))
    router.add("POST", "/post", validator(Target("post")))
    router.add("GET", "/dir/", validator(Target("dir")))
    strict = Router(routes=[("GET", "/hit", validator(Target()))])
    for method in ("GET", "HEAD"):
        assert call(router, "/hit/1", method).status == "200 OK"
        assert call(router, "/post", method).status == "405 Method Not Allowed"
        assert call(router, "/dir", method).status == "308 Permanent Redirect"
        assert call(router, "/other", method).status == "200 OK"
        assert call(strict, "/other", method).status == "404 Not Found"
    assert hit.calls == 2 and fallback.calls == 2


def test_url_for_name_is_positional_only_so_a_param_may_be_called_name():
    router = Router()
    router.add("GET", "/users/{name}", lambda environ, start_response: [], name="user")
    assert router.url_for("user", name="ada lovelace") == "/users/ada%20lovelace"
    with pytest.raises(TypeError):
        router.url_for(name="user")  # the route name itself cannot be a keyword


# --------------------------------------------------------------------------- hostile redirects

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@pytest.mark.parametrize(
    "overrides, expected",
    [
        pytest.param(
            {"HTTP_HOST": "h", "QUERY_STRING": "a=1\r\nSet-Cookie: x=y"},
            "http://h/dir/?a=1%0D%0ASet-Cookie:%20x=y",
            id="crlf_in_query",
        ),
        pytest.param(
            {"HTTP_HOST": "h", "QUERY_STRING": "a=\x00\t\x7f"},
            "http://h/dir/?a=%00%09%7F",
            id="nul_tab_del_in_query",
        ),
        pytest.param(
            {"HTTP_HOST": "h", "QUERY_STRING": "q=caf\xe9&x=%41"},
            "http://h/dir/?q=caf%E9&x=%41",
            id="latin1_in_query_already_encoded_kept",
        ),
        pytest.param(
            {"HTTP_HOST": "evil.com\r\nX-Injected: 1"}, "/dir/", id="crlf_in_host_relative"
        ),
        pytest.param({"HTTP_HOST": "a\r\n b"}, "/dir/", id="obs_fold_host_relative"),
        pytest.param({"HTTP_HOST": "user@evil.com"}, "/dir/", id="userinfo_host_relative"),
        pytest.param({"HTTP_HOST": "evil.com/x"}, "/dir/", id="slash_in_host_relative"),
        pytest.param({"HTTP_HOST": "h\udcff"}, "/dir/", id="surrogate_host_relative"),
        pytest.param(
            {"HTTP_HOST": "h", "wsgi.url_scheme": "http\r\nX: y"}, "/dir/", id="bad_scheme"
        ),
        pytest.param(
            {"HTTP_HOST": "h", "QUERY_STRING": "a=\udcff"},
            "http://h/dir/?a=%FF",
            id="surrogate_in_query_escaped_byte",
        ),
    ],
)
def test_hostile_redirect_values_never_reach_the_location_raw(overrides, expected):
    router, _ = routed(("GET", "/dir/"))
    response = run(router, env("/dir", **overrides))  # no validator: surrogates are not latin-1
    assert response.status == "308 Permanent Redirect"
    location = header(response.headers, "Location")
    assert location == expected
    assert not CONTROL.search(location)
    assert all(ord(c) < 0x80 for c in location)


def test_a_relative_redirect_never_names_another_host():
    router, _ = routed(("GET", "/dir/"))
    response = run(router, env("/dir", HTTP_HOST="bad host", SCRIPT_NAME="//evil.com"))
    assert response.status == "308 Permanent Redirect"
    assert header(response.headers, "Location") == "/.//evil.com/dir/"


@pytest.mark.parametrize("key", ["PATH_INFO", "SCRIPT_NAME", "REQUEST_METHOD"])
def test_lone_surrogates_in_the_request_go_to_the_default_or_404(key):
    calls = []

    def default(environ, start_response):
        calls.append(environ[key])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"default"]

    overrides = {key: "/dir\udcff" if key != "REQUEST_METHOD" else "G\udcffT"}

    def request():
        environ = env("/dir")
        environ.update(overrides)
        return environ

    plain, _ = routed(("GET", "/dir/"))
    response = run(plain, request())
    assert response.status in ("404 Not Found", "405 Method Not Allowed")
    with_default, _ = routed(("GET", "/dir/"), default=default)
    response = run(with_default, request())
    assert (response.status, response.body) == ("200 OK", b"default")
    assert calls == [overrides[key]]
