"""build(app, spec): a stack from data, checked by what the stack does, not only by its types.

Oracles: `gzip.decompress`, what the Logger's callable sink records, `wsgiref.validate` on both
sides of the stack, and `inspect.signature` of each class for the option table (so the table
cannot drift from the constructors).
"""

from __future__ import annotations

import gzip
import inspect
from wsgiref.validate import validator

import pytest
from conftest import ListApp, header, make_environ, run

import wsgi_mw
from wsgi_mw import Cache, Compress, Gzip, Logger, Rewrite, Router, Static, build
from wsgi_mw._build import LAYERS

TEXT = "text/plain; charset=utf-8"
BODY = b"Hello world! " * 200  # well above Gzip's min_size, compresses well


def text_app():
    return ListApp([BODY], content_type=TEXT)


def gzip_environ(**kw):
    return make_environ(HTTP_ACCEPT_ENCODING="gzip", **kw)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_table_matches_the_constructor_signature(name):
    layer = LAYERS[name]
    parameters = inspect.signature(layer.cls).parameters
    assert set(parameters) == {layer.app_param, *layer.options}
    assert len(layer.options) == len(set(layer.options))
    required = {
        p for p, param in parameters.items() if param.default is inspect.Parameter.empty
    } - {layer.app_param}
    assert set(layer.required) == required


def test_table_names_the_seven_classes():
    assert {name: layer.cls for name, layer in LAYERS.items()} == {
        "compress": Compress,
        "gzip": Gzip,
        "cache": Cache,
        "rewrite": Rewrite,
        "logger": Logger,
        "router": Router,
        "static": Static,
    }


def test_build_is_exported_and_documented():
    assert "build" in wsgi_mw.__all__
    assert wsgi_mw.build is build
    assert "outermost first" in (build.__doc__ or "")


# --------------------------------------------------------------------------- order


def test_empty_spec_returns_the_app_itself():
    app = text_app()
    assert build(app, []) is app
    assert build(app, ()) is app


def test_result_is_outer_of_inner():
    app = text_app()
    stack = build(app, ["logger", "gzip"])
    assert type(stack) is Logger
    assert type(stack.app) is Gzip
    assert stack.app.app is app
    assert repr(stack).startswith("Logger(Gzip(")


def records():
    seen = []
    return seen, seen.append


def test_logger_outermost_logs_the_compressed_length():
    seen, sink = records()
    stack = build(text_app(), [("logger", {"sink": sink}), "gzip"])
    response = run(validator(stack), gzip_environ())
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == BODY
    assert len(response.body) < len(BODY)
    assert [r["bytes"] for r in seen] == [len(response.body)]


def test_logger_innermost_logs_the_uncompressed_length():
    seen, sink = records()
    stack = build(text_app(), ["gzip", ("logger", {"sink": sink})])
    response = run(validator(stack), gzip_environ())
    assert gzip.decompress(response.body) == BODY
    assert [r["bytes"] for r in seen] == [len(BODY)]


def test_rewrite_inside_gzip_rewrites_outside_sees_only_compressed_bytes():
    rules = {"rules": [("Hello", "Goodbye")]}
    inside = run(validator(build(text_app(), ["gzip", ("rewrite", rules)])), gzip_environ())
    assert gzip.decompress(inside.body) == BODY.replace(b"Hello", b"Goodbye")
    # Outside, the body is gzip-encoded: Rewrite leaves encoded responses alone.
    outside = run(validator(build(text_app(), [("rewrite", rules), "gzip"])), gzip_environ())
    assert gzip.decompress(outside.body) == BODY


def test_options_are_passed_unchanged():
    stack = build(
        text_app(),
        [
            ("gzip", {"level": 1, "min_size": 10, "content_types": ["text/plain"]}),
            ("cache", {"default_ttl": 5, "status_header": None}),
            ["rewrite", {"rules": [("a", "b")], "regex": True}],
        ],
    )
    assert (stack.level, stack.min_size, stack.content_types) == (1, 10, ["text/plain"])
    assert (stack.app.default_ttl, stack.app.status_header) == (5, None)
    assert (stack.app.app.rules, stack.app.app.regex) == ((("a", "b"),), True)


def test_cache_in_the_stack_serves_the_second_request():
    app = text_app()
    stack = validator(build(app, ["gzip", "cache"]))
    first = run(stack, gzip_environ())
    second = run(stack, gzip_environ())
    assert [header(first.headers, "X-Cache"), header(second.headers, "X-Cache")] == [
        "MISS",
        "HIT",
    ]
    assert app.calls == 1
    assert gzip.decompress(second.body) == BODY


def hello_route(environ, start_response):
    start_response("200 OK", [("Content-Type", TEXT)])
    return [b"routed"]


def test_router_routes_and_falls_back_to_the_inner_app():
    app = text_app()
    stack = validator(
        build(app, [("router", {"routes": [("GET", "/hi", hello_route)]})]),
    )
    assert run(stack, make_environ(PATH_INFO="/hi")).body == b"routed"
    assert run(stack, make_environ(PATH_INFO="/other")).body == BODY
    assert app.calls == 1


def test_router_options_by_name():
    stack = build(text_app(), [("router", {"redirect_slashes": False})])
    assert type(stack) is Router
    assert stack.redirect_slashes is False
    assert len(stack) == 0


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "spec",
    ["gzip", b"gzip", None, {"gzip": {}}, "logger,gzip", iter(["gzip"])],
    ids=["str", "bytes", "none", "dict", "csv-str", "iterator"],
)
def test_spec_must_be_a_list_or_tuple(spec):
    with pytest.raises(TypeError, match=r"build\(\): spec must be a list or tuple"):
        build(text_app(), spec)


@pytest.mark.parametrize(
    "entry, message",
    [
        (("gzip",), r"entry 1 must be a name or a \(name, options\) pair"),
        (("gzip", {}, {}), r"entry 1 must be a name or a \(name, options\) pair"),
        (42, r"entry 1 must be a name"),
        ((1, {}), r"entry 1: the name must be a str, not 1"),
        (("gzip", [("level", 1)]), r"the options of 'gzip' must be a mapping, not list"),
        (("gzip", {1: 2}), r"option names of 'gzip' must be str, not 1"),
    ],
)
def test_entry_shape_errors_are_type_errors(entry, message):
    with pytest.raises(TypeError, match=message):
        build(text_app(), ["logger", entry])


@pytest.mark.parametrize("name", ["gzp", "Gzip", "GZIP", ""])
def test_unknown_name_is_named_with_the_known_ones(name):
    with pytest.raises(ValueError) as info:
        build(text_app(), [name])
    message = str(info.value)
    assert f"unknown middleware {name!r}" in message
    assert "known: cache, compress, gzip, logger, rewrite, router, static" in message


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_unknown_option_is_named_with_the_entry_and_known_options(name):
    options = {"lvl": 1, "rules": []} if name == "rewrite" else {"lvl": 1}
    with pytest.raises(ValueError) as info:
        build(text_app(), [(name, options)])
    message = str(info.value)
    assert message.startswith(f"build(): unknown option 'lvl' for {name!r} (known: ")
    assert message.endswith(", ".join(LAYERS[name].options) + ")")


def test_rewrite_without_rules_names_rules():
    with pytest.raises(ValueError, match=r"'rewrite' needs the option 'rules'"):
        build(text_app(), ["rewrite"])
    with pytest.raises(ValueError, match=r"'rewrite' needs the option 'rules'"):
        build(text_app(), [("rewrite", {"regex": True})])


def test_static_without_root_names_root(tmp_path):
    with pytest.raises(ValueError, match=r"'static' needs the option 'root'"):
        build(text_app(), ["static"])
    built = build(text_app(), [("static", {"root": str(tmp_path), "max_age": 5})])
    assert type(built) is Static and built.max_age == 5 and built.prefix == "/static/"
    built = build(text_app(), [("static", {"root": str(tmp_path), "max_files": 3})])
    assert built.max_files == 3


def test_router_default_is_refused():
    with pytest.raises(ValueError, match=r"option 'default' of 'router' is the app it wraps"):
        build(text_app(), [("router", {"default": hello_route})])


@pytest.mark.parametrize("name", ["gzip", "cache", "logger"])
def test_app_option_is_refused(name):
    with pytest.raises(ValueError, match=rf"option 'app' of '{name}' is the app it wraps"):
        build(text_app(), [(name, {"app": hello_route})])


@pytest.mark.parametrize(
    "name, options, error",
    [
        ("gzip", {"level": 12}, ValueError),
        ("gzip", {"level": "6"}, TypeError),
        ("cache", {"max_bytes": 0}, ValueError),
        ("logger", {"format": "combinded"}, ValueError),
        ("rewrite", {"rules": "ab"}, TypeError),
        ("router", {"routes": [("GET", "no-slash", hello_route)]}, ValueError),
        ("static", {"root": "/no/such/directory/here"}, ValueError),
        ("static", {"root": ".", "max_age": -1}, ValueError),
        ("static", {"root": ".", "max_files": 0}, ValueError),
    ],
)
def test_bad_values_raise_the_class_error_unchanged(name, options, error):
    app = text_app()
    with pytest.raises(error) as ours:
        build(app, [(name, options)])
    layer = LAYERS[name]
    with pytest.raises(error) as direct:
        layer.cls(**{layer.app_param: app}, **options)
    assert str(ours.value) == str(direct.value)


def test_errors_come_before_any_layer_is_built(tmp_path):
    # A bad last entry fails the whole spec before the Logger (listed first) opens its file.
    log = tmp_path / "access.log"
    with pytest.raises(ValueError, match="unknown middleware 'nope'"):
        build(text_app(), [("logger", {"sink": str(log)}), "nope"])
    assert not log.exists()
    build(text_app(), [("logger", {"sink": str(log)})]).flush()
    assert log.exists()
