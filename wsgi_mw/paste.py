"""PasteDeploy filter factories: ``[filter:...] use = egg:wsgi_mw#gzip`` in an .ini file.

Each factory turns the .ini strings into Python values (the rules are in docs/frameworks.md)
and calls ``build(app, [(name, options)])``; an option the middleware does not have is left
as text for ``build`` to refuse, so its error lists the known options.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable

from ._build import WSGIApp, build

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _error(name: str, option: str, text: str, expected: str) -> ValueError:
    return ValueError(f"{name} filter: {option} = {text!r}: expected {expected}")


def _int(name: str, option: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _error(name, option, text, "an integer") from None


def _float(name: str, option: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise _error(name, option, text, "a number") from None


def _bool(name: str, option: str, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _error(name, option, text, "true/false, yes/no, on/off or 1/0")


def _is_none(text: str) -> bool:
    return text.strip().lower() == "none"


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", text) if word]


def _str_list(name: str, option: str, text: str) -> list[str]:
    return _words(text)


def _str_list_or_none(name: str, option: str, text: str) -> list[str] | None:
    return None if _is_none(text) else _words(text)


def _str_or_none(name: str, option: str, text: str) -> str | None:
    return None if _is_none(text) else text.strip()


def _int_list(name: str, option: str, text: str) -> list[int]:
    return [_int(name, option, word) for word in _words(text)]


def _int_or_str(name: str, option: str, text: str) -> int | str:
    # Logger's level: a number, or a level name that Logger itself checks.
    word = text.strip()
    try:
        return int(word)
    except ValueError:
        return word


def _as_is(name: str, option: str, text: str) -> str:
    return text


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _rules(name: str, option: str, text: str) -> list[tuple[str, str]]:
    rules = []
    for line in _lines(text):
        old, sep, new = line.partition("=>")
        if not sep or not old.strip():
            raise _error(name, option, line, "one rule per line, as 'old => new'")
        rules.append((old.strip(), new.strip()))
    return rules


def _import(name: str, option: str, line: str, target: str) -> WSGIApp:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise _error(name, option, line, "an app as 'module:callable'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{name} filter: {option}: cannot import {target!r}: {exc}") from exc
    app: WSGIApp = obj
    return app


def _routes(name: str, option: str, text: str) -> list[tuple[str | list[str], str, WSGIApp]]:
    routes: list[tuple[str | list[str], str, WSGIApp]] = []
    for line in _lines(text):
        # rpartition: a path pattern may hold "=", a module:callable never does.
        left, sep, target = line.rpartition("=")
        words = left.split()
        if not sep or len(words) not in (1, 2) or not target.strip():
            raise _error(
                name, option, line, "one route per line, as 'METHODS /path = module:callable'"
            )
        # Without methods a route takes every method, like a paste.urlmap entry.
        methods: str | list[str] = "*" if len(words) == 1 else _words(words[0])
        routes.append((methods, words[-1], _import(name, option, line, target.strip())))
    return routes


def _mimetypes(name: str, option: str, text: str) -> dict[str, str]:
    types: dict[str, str] = {}
    for line in _lines(text):
        ext, sep, media_type = line.partition("=")
        if not sep or not ext.strip() or not media_type.strip():
            raise _error(name, option, line, "one type per line, as '.webp = image/webp'")
        types[ext.strip()] = media_type.strip()
    return types


_Converter = Callable[[str, str, str], Any]

# How each option's .ini text becomes a value, per middleware name of LAYERS.
CONVERTERS: dict[str, dict[str, _Converter]] = {
    "compress": {
        "encodings": _str_list,
        "min_size": _int,
        "gzip_level": _int,
        "brotli_quality": _int,
        "zstd_level": _int,
        "content_types": _str_list_or_none,
        "stream_types": _str_list_or_none,
        "breach_padding": _int,
    },
    "gzip": {
        "level": _int,
        "min_size": _int,
        "content_types": _str_list_or_none,
        "stream_types": _str_list_or_none,
        "breach_padding": _int,
    },
    "cache": {
        "store": _str_or_none,
        "key_prefix": _as_is,
        "store_timeout": _float,
        "stale_while_revalidate": _int,
        "stale_if_error": _int,
        "max_bytes": _int,
        "max_entry_bytes": _int,
        "default_ttl": _int,
        "statuses": _int_list,
        "status_header": _str_or_none,
        "single_flight": _bool,
        "single_flight_timeout": _float,
        "request_directives": _as_is,
        "tag_header": _str_or_none,
    },
    "rewrite": {
        "rules": _rules,
        "regex": _bool,
        "content_types": _str_list_or_none,
        "max_buffer": _int,
    },
    "logger": {
        "format": _as_is,
        "sink": _str_or_none,
        "trusted_proxies": _str_list,
        "level": _int_or_str,
    },
    "router": {
        "routes": _routes,
        "redirect_slashes": _bool,
    },
    "static": {
        "root": _as_is,
        "prefix": _as_is,
        "max_age": _int,
        "immutable_max_age": _int,
        "index_file": _bool,
        "autorefresh": _bool,
        "encodings": _str_list,
        "mimetypes": _mimetypes,
        "max_files": _int,
    },
}


def convert(name: str, local_conf: dict[str, Any]) -> dict[str, Any]:
    """The options of middleware ``name`` from .ini text; non-str values pass unchanged."""
    converters = CONVERTERS[name]
    return {
        option: converters[option](name, option, value)
        if isinstance(value, str) and option in converters
        else value
        for option, value in local_conf.items()
    }


def _filter(name: str, app: WSGIApp, local_conf: dict[str, Any]) -> WSGIApp:
    return build(app, [(name, convert(name, local_conf))])


def compress_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Compress` (``encodings`` as words)."""
    return _filter("compress", app, local_conf)


def gzip_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Gzip`."""
    return _filter("gzip", app, local_conf)


def cache_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Cache`."""
    return _filter("cache", app, local_conf)


def rewrite_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Rewrite` (``rules`` lines)."""
    return _filter("rewrite", app, local_conf)


def logger_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Logger`."""
    return _filter("logger", app, local_conf)


def router_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Router` (the app is its default)."""
    return _filter("router", app, local_conf)


def static_filter(app: WSGIApp, global_conf: dict[str, Any], **local_conf: Any) -> WSGIApp:
    """``paste.filter_app_factory`` for :class:`wsgi_mw.Static` (``root`` is required)."""
    return _filter("static", app, local_conf)
