"""PasteDeploy: the five filter factories, their .ini string conversions and entry points.

Oracles: `paste.deploy.loadapp` on a real .ini with a `[pipeline:main]`, `gzip.decompress`,
`wsgiref.validate` around the loaded stack, `json.loads` of the access log, the attributes
each class reads its configuration back with, and `importlib.metadata.entry_points`.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import textwrap
from wsgiref.validate import validator

import pytest
from conftest import header, make_environ, run
from paste.deploy import loadapp

from wsgi_mw import Cache, Gzip, Logger, Rewrite, Router, Static, paste
from wsgi_mw._build import LAYERS

TEXT = "text/plain; charset=utf-8"
PAGE = b"Hello from the paste app! " * 40


def app_factory(global_conf, **local_conf):
    """The [app:main] of the test .ini: a cacheable text page that says Hello."""
    greeting = local_conf.get("greeting", "Hello").encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", TEXT), ("Cache-Control", "max-age=60")])
        return [PAGE.replace(b"Hello", greeting)]

    return app


def hi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", TEXT)])
    return [b"hi there"]


class Namespace:
    admin_app = staticmethod(hi_app)


def write_ini(tmp_path, text):
    path = tmp_path / "site.ini"
    path.write_text(textwrap.dedent(text))
    return str(path)


PIPELINE = """\
    [pipeline:main]
    pipeline = log gz cache rewrite router hello

    [filter:log]
    {log}
    format = json
    sink = %(here)s/access.log

    [filter:gz]
    {gz}
    level = 9
    min_size = 100
    content_types = text/plain, application/json

    [filter:cache]
    {cache}
    default_ttl = 30
    statuses = 200 404
    status_header = X-Paste-Cache
    single_flight = off

    [filter:rewrite]
    {rewrite}
    rules =
        Hello => Goodbye
        paste app=>PasteDeploy app

    [filter:router]
    {router}
    redirect_slashes = no
    routes =
        GET,HEAD /hi = test_paste:hi_app
        /admin/{{rest:path}} = test_paste:Namespace.admin_app

    [app:hello]
    paste.app_factory = test_paste:app_factory
"""

BY_FACTORY = {name: f"paste.filter_app_factory = wsgi_mw.paste:{name}_filter" for name in LAYERS}
BY_EGG = {name: f"use = egg:wsgi_mw#{name}" for name in LAYERS}


def pipeline_ini(tmp_path, lines):
    return write_ini(
        tmp_path,
        PIPELINE.format(
            log=lines["logger"],
            gz=lines["gzip"],
            cache=lines["cache"],
            rewrite=lines["rewrite"],
            router=lines["router"],
        ),
    )


def check_pipeline(tmp_path, application):
    # The pipeline is outermost first, like build(): log gz cache rewrite router hello.
    assert type(application) is Logger
    gz = application.app
    assert type(gz) is Gzip and (gz.level, gz.min_size) == (9, 100)
    cache = gz.app
    assert type(cache) is Cache
    assert (cache.default_ttl, cache.statuses, cache.single_flight) == (30, (200, 404), False)
    rewrite = cache.app
    assert type(rewrite) is Rewrite
    assert rewrite.rules == (("Hello", "Goodbye"), ("paste app", "PasteDeploy app"))
    router = rewrite.app
    assert type(router) is Router and router.redirect_slashes is False and len(router) == 2

    stack = validator(application)
    environ = make_environ(HTTP_ACCEPT_ENCODING="gzip")
    first, second = run(stack, environ), run(stack, make_environ(HTTP_ACCEPT_ENCODING="gzip"))
    expected = PAGE.replace(b"Hello", b"Goodbye").replace(b"paste app", b"PasteDeploy app")
    for response in (first, second):
        assert response.status == "200 OK"
        assert header(response.headers, "Content-Encoding") == "gzip"
        assert gzip.decompress(response.body) == expected
    assert [header(first.headers, "X-Paste-Cache"), header(second.headers, "X-Paste-Cache")] == [
        "MISS",
        "HIT",
    ]
    hi = run(stack, make_environ(PATH_INFO="/hi"))
    assert hi.body == b"hi there"
    assert run(stack, make_environ(PATH_INFO="/admin/x/y")).body == b"hi there"
    not_allowed = run(stack, make_environ(PATH_INFO="/hi", REQUEST_METHOD="POST"))
    assert not_allowed.status.startswith("405")
    assert set(header(not_allowed.headers, "Allow").replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
    }

    application.flush()
    lines = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert [(line["path"], line["status"]) for line in lines] == [
        ("/", 200),
        ("/", 200),
        ("/hi", 200),
        ("/admin/x/y", 200),
        ("/hi", 405),
    ]
    # Logger is outermost: it counts the compressed bytes that went out.
    assert lines[0]["bytes"] == len(first.body) < len(expected)


def test_pipeline_with_factory_keys(tmp_path):
    check_pipeline(tmp_path, loadapp("config:" + pipeline_ini(tmp_path, BY_FACTORY)))


def test_pipeline_with_egg_entry_points(tmp_path):
    # Needs the package installed with its entry points (maturin develop / pip install).
    check_pipeline(tmp_path, loadapp("config:" + pipeline_ini(tmp_path, BY_EGG)))


def test_entry_points_are_registered():
    found = {
        ep.name: ep
        for ep in importlib.metadata.entry_points(group="paste.filter_app_factory")
        if ep.value.startswith("wsgi_mw.")
    }
    assert sorted(found) == sorted(LAYERS)
    for name, ep in found.items():
        assert ep.load() is getattr(paste, f"{name}_filter")


def test_every_option_has_a_converter():
    assert set(paste.CONVERTERS) == set(LAYERS)
    for name, layer in LAYERS.items():
        assert set(paste.CONVERTERS[name]) == set(layer.options), name


def test_single_filter_with_app_factory_args(tmp_path):
    ini = write_ini(
        tmp_path,
        """\
        [app:main]
        paste.app_factory = test_paste:app_factory
        greeting = Howdy
        filter-with = gz

        [filter:gz]
        paste.filter_app_factory = wsgi_mw.paste:gzip_filter
        level = 1
        """,
    )
    application = loadapp("config:" + ini)
    assert type(application) is Gzip and application.level == 1
    response = run(validator(application), make_environ(HTTP_ACCEPT_ENCODING="gzip"))
    assert gzip.decompress(response.body) == PAGE.replace(b"Hello", b"Howdy")


# --------------------------------------------------------------------------- conversions


def factory(name, **local_conf):
    return getattr(paste, f"{name}_filter")(app_factory({}), {"here": "/"}, **local_conf)


TRUE_WORDS = ["true", "TRUE", "True", "yes", "Yes", "on", "ON", "1", " true "]
FALSE_WORDS = ["false", "FALSE", "no", "No", "off", "Off", "0", " no "]


@pytest.mark.parametrize("word", TRUE_WORDS)
def test_bool_true_words(word):
    assert factory("cache", single_flight=word).single_flight is True
    assert factory("rewrite", rules="a => b", regex=word).regex is True


@pytest.mark.parametrize("word", FALSE_WORDS)
def test_bool_false_words(word):
    assert factory("cache", single_flight=word).single_flight is False
    assert factory("router", redirect_slashes=word).redirect_slashes is False


def test_ints():
    gz = factory("gzip", level="9", min_size=" 1000 ", breach_padding="16")
    assert (gz.level, gz.min_size, gz.breach_padding) == (9, 1000, 16)
    cache = factory("cache", max_bytes="1048576", max_entry_bytes="1024", default_ttl="0")
    assert (cache.max_bytes, cache.max_entry_bytes, cache.default_ttl) == (1048576, 1024, 0)
    assert factory("rewrite", rules="a=>b", max_buffer="4096").max_buffer == 4096


def test_float():
    assert factory("cache", single_flight_timeout="2.5").single_flight_timeout == 2.5
    assert factory("cache", single_flight_timeout="3").single_flight_timeout == 3.0
    assert factory("cache", store_timeout="0.5").store_timeout == 0.5


def test_a_shared_store_from_ini_text():
    # Construction never connects: nothing needs to listen on the port.
    cache = factory("cache", store=" redis://127.0.0.1:1/3 ", key_prefix="site:")
    assert (cache.store, cache.key_prefix) == ("redis://127.0.0.1:1/3", "site:")
    assert factory("cache", store="none").store is None
    cache = factory("cache", stale_while_revalidate="30", stale_if_error=" 600 ", tag_header="xkey")
    assert (cache.stale_while_revalidate, cache.stale_if_error, cache.tag_header) == (
        30,
        600,
        "xkey",
    )
    assert factory("cache", tag_header="none").tag_header is None


@pytest.mark.parametrize("text", ["none", "None", "NONE", " none "])
def test_none_words(text):
    gz = factory("gzip", content_types=text, stream_types=text)
    assert gz.content_types == list(Gzip.DEFAULT_CONTENT_TYPES)
    assert gz.stream_types == list(Gzip(hi_app).stream_types)
    assert factory("cache", status_header=text).status_header is None
    rewrite = factory("rewrite", rules="a=>b", content_types=text)
    assert rewrite.content_types == list(Rewrite.DEFAULT_CONTENT_TYPES)
    assert factory("logger", sink=text).sink is None


@pytest.mark.parametrize(
    "text",
    [
        "text/plain application/json",
        "text/plain,application/json",
        "text/plain ,\n application/json,",
    ],
)
def test_lists_split_on_whitespace_and_commas(text):
    assert factory("gzip", content_types=text).content_types == ["text/plain", "application/json"]
    assert factory("gzip", stream_types=text).stream_types == ["text/plain", "application/json"]
    rewrite = factory("rewrite", rules="a=>b", content_types=text)
    assert rewrite.content_types == ["text/plain", "application/json"]


def test_int_list_and_proxies():
    assert factory("cache", statuses="200, 301\n404").statuses == (200, 301, 404)
    logger = factory("logger", trusted_proxies="10.0.0.0/8, 127.0.0.1")
    assert logger.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32")


def test_strings_as_is():
    assert factory("cache", status_header="X-Edge").status_header == "X-Edge"
    assert factory("logger", format='%h "%r" %>s %b').format == '%h "%r" %>s %b'


def test_logger_level_int_or_name():
    assert factory("logger", level="30").level == 30
    assert factory("logger", level="warning").level == 30


def test_logger_sink_path(tmp_path):
    path = str(tmp_path / "x.log")
    logger = factory("logger", sink=path)
    assert logger.sink == path
    run(logger)
    logger.flush()
    assert (tmp_path / "x.log").read_text().count("\n") == 1


def test_rewrite_rules_lines():
    rewrite = factory("rewrite", rules="\n  Hello => Goodbye \n\nred=>blue\n a b  =>  \n")
    assert rewrite.rules == (("Hello", "Goodbye"), ("red", "blue"), ("a b", ""))


def test_rewrite_regex_rules():
    rewrite = factory("rewrite", rules="H(el)lo => J${1}ly", regex="true")
    body = run(rewrite).body
    assert body == PAGE.replace(b"Hello", b"Jelly")


def test_router_routes_lines():
    router = factory(
        "router",
        routes="GET /hi = test_paste:hi_app\n/any = test_paste:hi_app\n"
        "GET,POST /two = test_paste:hi_app\n* /star = test_paste:hi_app",
    )
    assert len(router) == 4
    for method, path, expected in [
        ("GET", "/hi", "200 OK"),
        ("POST", "/hi", "405"),
        ("DELETE", "/any", "200 OK"),  # no METHODS: every method
        ("POST", "/two", "200 OK"),
        ("PUT", "/two", "405"),
        ("PATCH", "/star", "200 OK"),
        ("GET", "/elsewhere", "200 OK"),  # the wrapped app is the default
    ]:
        response = run(router, make_environ(REQUEST_METHOD=method, PATH_INFO=path))
        assert response.status.startswith(expected), (method, path, response.status)


def test_non_str_values_pass_unchanged():
    assert factory("gzip", level=3).level == 3


# --------------------------------------------------------------------------- conversion errors


@pytest.mark.parametrize(
    "name, option, text, expected",
    [
        ("gzip", "level", "six", "an integer"),
        ("gzip", "level", "6.0", "an integer"),
        ("gzip", "min_size", "", "an integer"),
        ("gzip", "breach_padding", "1k", "an integer"),
        ("cache", "max_bytes", "64MiB", "an integer"),
        ("cache", "max_entry_bytes", "none", "an integer"),
        ("cache", "default_ttl", "1 minute", "an integer"),
        ("cache", "statuses", "200 ok", "an integer"),
        ("cache", "single_flight", "maybe", "true/false, yes/no, on/off or 1/0"),
        ("cache", "single_flight", "", "true/false"),
        ("cache", "single_flight_timeout", "soon", "a number"),
        ("rewrite", "regex", "2", "true/false"),
        ("rewrite", "max_buffer", "8M", "an integer"),
        ("router", "redirect_slashes", "nope", "true/false"),
    ],
)
def test_conversion_errors_name_option_and_text(name, option, text, expected):
    options = {option: text}
    if name == "rewrite":
        options.setdefault("rules", "a => b")
    with pytest.raises(ValueError) as info:
        factory(name, **options)
    message = str(info.value)
    bad = "ok" if option == "statuses" else text
    assert message.startswith(f"{name} filter: {option} = {bad!r}: expected {expected}")


@pytest.mark.parametrize("line", ["Hello -> Goodbye", "=> Goodbye", "just text"])
def test_rewrite_rule_errors(line):
    with pytest.raises(ValueError) as info:
        factory("rewrite", rules=f"a => b\n{line}")
    assert str(info.value) == (
        f"rewrite filter: rules = {line.strip()!r}: expected one rule per line, as 'old => new'"
    )


@pytest.mark.parametrize(
    "line",
    ["GET /hi", "GET HEAD /hi = test_paste:hi_app", "GET /hi =", "= test_paste:hi_app"],
)
def test_route_shape_errors(line):
    with pytest.raises(ValueError) as info:
        factory("router", routes=line)
    assert str(info.value) == (
        f"router filter: routes = {line!r}: "
        "expected one route per line, as 'METHODS /path = module:callable'"
    )


def test_route_target_without_colon():
    with pytest.raises(ValueError) as info:
        factory("router", routes="/hi = test_paste.hi_app")
    assert str(info.value) == (
        "router filter: routes = '/hi = test_paste.hi_app': expected an app as 'module:callable'"
    )


@pytest.mark.parametrize(
    "target, cause",
    [
        ("no_such_module_xyz:app", "No module named 'no_such_module_xyz'"),
        ("test_paste:nope", "nope"),
    ],
)
def test_route_import_errors(target, cause):
    with pytest.raises(ValueError) as info:
        factory("router", routes=f"/hi = {target}")
    message = str(info.value)
    assert message.startswith(f"router filter: routes: cannot import {target!r}: ")
    assert cause in message


def test_route_bad_pattern_is_routers_own_error():
    with pytest.raises(ValueError, match="hi"):
        factory("router", routes="GET hi = test_paste:hi_app")


def test_unknown_option_in_ini_is_builds_error(tmp_path):
    ini = write_ini(
        tmp_path,
        """\
        [app:main]
        paste.app_factory = test_paste:app_factory
        filter-with = gz

        [filter:gz]
        paste.filter_app_factory = wsgi_mw.paste:gzip_filter
        lvl = 9
        """,
    )
    with pytest.raises(ValueError) as info:
        loadapp("config:" + ini)
    assert str(info.value).startswith("build(): unknown option 'lvl' for 'gzip' (known: level, ")


def test_conversion_error_through_loadapp(tmp_path):
    ini = write_ini(
        tmp_path,
        """\
        [app:main]
        paste.app_factory = test_paste:app_factory
        filter-with = c

        [filter:c]
        paste.filter_app_factory = wsgi_mw.paste:cache_filter
        single_flight = sometimes
        """,
    )
    with pytest.raises(ValueError, match=r"cache filter: single_flight = 'sometimes'"):
        loadapp("config:" + ini)


def test_percent_signs_are_doubled_in_ini(tmp_path):
    # PasteDeploy interpolates %(name)s in values, so a LogFormat's % is written %%.
    ini = write_ini(
        tmp_path,
        """\
        [app:main]
        paste.app_factory = test_paste:app_factory
        filter-with = log

        [filter:log]
        paste.filter_app_factory = wsgi_mw.paste:logger_filter
        format = %%h "%%r" %%>s %%b
        sink = %(here)s/fmt.log
        """,
    )
    application = loadapp("config:" + ini)
    assert application.format == '%h "%r" %>s %b'
    assert application.sink == str(tmp_path / "fmt.log")
    run(application, make_environ(REMOTE_ADDR="127.0.0.1"))
    application.flush()
    assert (tmp_path / "fmt.log").read_text() == f'127.0.0.1 "GET / HTTP/1.0" 200 {len(PAGE)}\n'


def test_static_filter_from_ini(tmp_path):
    root = tmp_path / "public"
    root.mkdir()
    (root / "photo.webp").write_bytes(b"RIFF....WEBP")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    ini = write_ini(
        tmp_path,
        f"""\
        [pipeline:main]
        pipeline = files hello

        [filter:files]
        use = egg:wsgi_mw#static
        root = {root}
        prefix = /files/
        max_age = 120
        index_file = true
        encodings = br gzip
        max_files = 50
        mimetypes =
            .webp = image/webp

        [app:hello]
        paste.app_factory = test_paste:app_factory
        """,
    )
    application = loadapp("config:" + ini)
    assert type(application) is Static
    assert (application.max_age, application.index_file) == (120, True)
    assert application.encodings == ["br", "gzip"]
    assert application.max_files == 50
    response = run(validator(application), make_environ(PATH_INFO="/files/photo.webp"))
    assert header(response.headers, "Content-Type") == "image/webp"
    assert header(response.headers, "Cache-Control") == "public, max-age=120"
    assert run(application, make_environ(PATH_INFO="/files/docs/")).body == b"<h1>docs</h1>"
    assert b"Hello" in run(application, make_environ(PATH_INFO="/page")).body
    with pytest.raises(ValueError, match=r"one type per line"):
        paste.convert("static", {"mimetypes": "webp"})
