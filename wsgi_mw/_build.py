"""``build(app, spec)``: a middleware stack from data (a list of names and options).

The table ``LAYERS`` is the one place that says which names exist and which options each
takes; the PasteDeploy factories (``wsgi_mw.paste``) and the Flask/Django helpers go through
``build`` and this table, so no second construction path exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, NamedTuple, Union

from ._native import Cache, Compress, Gzip, Logger, Rewrite, Router, Static

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# One entry of a spec: a name, or a (name, options) pair given as a tuple or a list.
Entry = Union[str, tuple[str, Mapping[str, Any]], list[Any]]


class Layer(NamedTuple):
    """How one name of a spec becomes a middleware."""

    cls: Callable[..., WSGIApp]
    # The constructor parameter the inner app is given as: "app", or Router's "default".
    app_param: str
    # Every other constructor parameter, by name: the options an entry may give.
    options: tuple[str, ...]
    # Options without a default (Rewrite's positional `rules`).
    required: tuple[str, ...] = ()


LAYERS: dict[str, Layer] = {
    "compress": Layer(
        Compress,
        "app",
        (
            "encodings",
            "min_size",
            "gzip_level",
            "brotli_quality",
            "zstd_level",
            "content_types",
            "stream_types",
            "breach_padding",
        ),
    ),
    "gzip": Layer(
        Gzip, "app", ("level", "min_size", "content_types", "stream_types", "breach_padding")
    ),
    "cache": Layer(
        Cache,
        "app",
        (
            "store",
            "key_prefix",
            "store_timeout",
            "stale_while_revalidate",
            "stale_if_error",
            "max_bytes",
            "max_entry_bytes",
            "default_ttl",
            "statuses",
            "status_header",
            "single_flight",
            "single_flight_timeout",
            "request_directives",
            "tag_header",
        ),
    ),
    "rewrite": Layer(
        Rewrite, "app", ("rules", "regex", "content_types", "max_buffer"), required=("rules",)
    ),
    "logger": Layer(Logger, "app", ("format", "sink", "trusted_proxies", "level")),
    # Router wraps the inner app as its `default`: the requests no route matches go there.
    "router": Layer(Router, "default", ("routes", "redirect_slashes")),
    "static": Layer(
        Static,
        "app",
        (
            "root",
            "prefix",
            "max_age",
            "immutable_max_age",
            "index_file",
            "autorefresh",
            "encodings",
            "mimetypes",
            "max_files",
        ),
        required=("root",),
    ),
}


def build(app: WSGIApp, spec: Sequence[Entry]) -> WSGIApp:
    """Wrap ``app`` in the middleware ``spec`` names, outermost first.

    ``spec`` is a list (or tuple) of entries; an entry is a name, or a ``(name, options)``
    pair whose options are the keyword arguments of that class, passed unchanged::

        from wsgi_mw import build

        application = build(app, ["logger", ("gzip", {"level": 9}), "cache"])
        # the same as Logger(Gzip(Cache(app), level=9))

    Names: ``"compress"`` (Compress), ``"gzip"`` (Gzip), ``"cache"`` (Cache), ``"logger"`` (Logger), ``"rewrite"``
    (Rewrite: its ``rules`` are the required option ``"rules"``), ``"router"`` (Router: the
    inner app becomes its ``default``, options ``routes`` and ``redirect_slashes``),
    ``"static"`` (Static: its ``root`` is the required option ``"root"``).
    An empty spec returns ``app`` itself.

    Raises ``TypeError`` when ``spec`` is not a list or tuple (a str is refused) or an entry
    has another shape, and ``ValueError`` for an unknown name, an unknown option, a missing
    ``rules`` or ``root``, or a ``default`` given to ``router``; each message names the culprit. A bad
    option value raises the class's own ``TypeError``/``ValueError``.
    """
    if not isinstance(spec, (list, tuple)):
        raise TypeError(
            f"build(): spec must be a list or tuple of entries, not {type(spec).__name__}"
        )
    layers = [_parse_entry(entry, position) for position, entry in enumerate(spec)]
    for name, options in reversed(layers):
        app = _wrap(app, name, options)
    return app


def _parse_entry(entry: object, position: int) -> tuple[str, Mapping[str, Any]]:
    if isinstance(entry, str):
        name: object = entry
        options: object = {}
    elif isinstance(entry, (list, tuple)) and len(entry) == 2:
        name, options = entry
    else:
        raise TypeError(
            f"build(): entry {position} must be a name or a (name, options) pair, not {entry!r}"
        )
    if not isinstance(name, str):
        raise TypeError(f"build(): entry {position}: the name must be a str, not {name!r}")
    if name not in LAYERS:
        raise ValueError(
            f"build(): unknown middleware {name!r} (known: {', '.join(sorted(LAYERS))})"
        )
    if not isinstance(options, Mapping):
        raise TypeError(
            f"build(): the options of {name!r} must be a mapping, not {type(options).__name__}"
        )
    layer = LAYERS[name]
    for option in options:
        if not isinstance(option, str):
            raise TypeError(f"build(): option names of {name!r} must be str, not {option!r}")
        if option == layer.app_param:
            raise ValueError(
                f"build(): option {option!r} of {name!r} is the app it wraps; "
                f"build() passes the inner app there"
            )
        if option not in layer.options:
            raise ValueError(
                f"build(): unknown option {option!r} for {name!r} "
                f"(known: {', '.join(layer.options)})"
            )
    for option in layer.required:
        if option not in options:
            raise ValueError(f"build(): {name!r} needs the option {option!r}")
    return name, options


def _wrap(app: WSGIApp, name: str, options: Mapping[str, Any]) -> WSGIApp:
    layer = LAYERS[name]
    # Every parameter, Rewrite's `rules` and Router's `routes` included, can be given by name.
    return layer.cls(**{layer.app_param: app}, **options)
