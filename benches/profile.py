"""Where the time goes: one request shape in a loop, for a profiler, and a report of the
samples by function (inclusive) and by direct callee.

Not part of `make bench` (it times nothing). docs/where-time-goes.md was made with:

    perf record --call-graph dwarf,16384 -F 2000 -o /tmp/hit.data \\
        .venv/bin/python benches/profile.py run stack-hit 300000
    perf script -i /tmp/hit.data --comm python -F ip,sym > /tmp/hit.txt
    .venv/bin/python benches/profile.py report /tmp/hit.txt Logger::__pymethod___call__ \\
        Cache::run response::call_app

Scenarios:

- ``stack-hit``: the bench_stack Rust stack, a cache hit for ``/about`` (gzip accepted);
- ``logger``: Logger(sink=path) around a static app, 1 KiB in two chunks (bench_logger's);
- ``passthrough``: Rewrite around a 1 KiB image/png (bench_rewrite's passthrough row);
- ``static-304``: Static answering If-None-Match with a 304 for a 4 KiB file (bench_static's
  row).
"""

from __future__ import annotations

import collections
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_stack
import stack_apps

from wsgi_mw import Logger, Rewrite, Static


def _start_response(status: str, headers: list, exc_info: object = None) -> None:
    return None


def _drive(app: Callable, environ: dict) -> None:
    result = app(dict(environ), _start_response)
    for _ in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()


def scenario(name: str, directory: Path) -> tuple[Callable, dict]:
    if name == "stack-hit":
        stack = stack_apps.rust_stack(directory / "stack.log")
        environ = bench_stack.base_environ("/about")
        for _ in range(3):  # the first is the miss that stores the entry
            _drive(stack.app, environ)
        return stack.app, environ
    if name == "static-304":
        (directory / "css").mkdir()
        (directory / "css" / "site.css").write_bytes(b"x" * 4096)
        static = Static(stack_apps.not_found, directory)
        environ = bench_stack.base_environ("/static/css/site.css")
        head: dict = {}
        static(dict(environ), lambda status, headers, exc_info=None: head.update(headers))
        environ["HTTP_IF_NONE_MATCH"] = head["ETag"]
        return static, environ
    if name == "logger":
        body = [b"a" * 512, b"b" * 512]

        def page(environ: dict, start_response: Callable) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "1024")])
            return body

        environ = bench_stack.base_environ("/products/42", "page=2")
        environ["HTTP_REFERER"] = "https://shop.example/products"
        return Logger(page, sink=str(directory / "access.log")), environ
    if name == "passthrough":
        png = b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(1024 - 8)

        def image(environ: dict, start_response: Callable) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "image/png")])
            return [png]

        return Rewrite(image, [("Hello", "Goodbye")]), bench_stack.base_environ("/logo.png")
    raise SystemExit(f"unknown scenario {name!r}: stack-hit, logger or passthrough")


def run(name: str, requests: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        app, environ = scenario(name, Path(directory))
        for _ in range(requests):
            _drive(app, environ)
        flush = getattr(app, "flush", None)
        if flush is not None:
            flush()


def report(path: str, targets: list[str]) -> None:
    """For each target (a substring of a symbol): its samples, inclusive, as a share of the
    first target's (put the request's entry point first), and its direct callees the same
    way (a blank name: the target's own code)."""
    stacks: list[list[str]] = []
    current: list[str] = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if not line.strip():
            if current:
                stacks.append(current)
            current = []
            continue
        parts = line.strip().split(None, 1)
        current.append(parts[1] if len(parts) > 1 else "?")
    if current:
        stacks.append(current)
    total = 0
    for target in targets:
        callees: collections.Counter[str] = collections.Counter()
        hits = 0
        for frames in stacks:  # innermost frame first
            for depth, frame in enumerate(frames):
                if target in frame:
                    hits += 1
                    callee = frames[depth - 1] if depth > 0 else "(self)"
                    callees[re.sub(r"\(.*", "", callee)[:100]] += 1
                    break
        total = total or max(hits, 1)
        print(f"== {target}: {hits} samples, {100 * hits / total:.1f}%")
        for callee, count in callees.most_common(12):
            print(f"  {100 * count / total:5.1f}%  {callee}")


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300000)
    elif len(sys.argv) >= 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
