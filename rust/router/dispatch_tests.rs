//! Unit tests for `dispatch.rs`: one table per rule, each case named after what it shows.

use std::cell::Cell;

use super::*;
use crate::router::pattern::Pattern;
use crate::router::table::Methods;

/// A Router's compiled routes (`(methods, template)`, comma-separated methods) and mounts.
fn dispatch(routes: &[(&str, &str)], mounts: &[&str], redirect_slashes: bool) -> Dispatch {
    let mut builder = Builder::default();
    for (methods, template) in routes {
        let methods = Methods::new(methods.split(',').map(str::to_owned));
        let (Ok(pattern), Ok(methods)) = (Pattern::parse(template), methods) else {
            unreachable!("valid test route {template}");
        };
        assert!(builder.add(template, pattern, methods, (), None).is_ok());
    }
    for prefix in mounts {
        assert!(builder.mount((*prefix).to_owned(), ()).is_ok());
    }
    Dispatch::new(&mut builder, redirect_slashes)
}

const ORIGIN: Origin<'static> = Origin {
    scheme: "http",
    host: b"example.com",
    query: "",
};

fn route(route: usize, values: &[&'static str]) -> Decision<'static> {
    Decision::Route {
        route,
        values: values.to_vec(),
    }
}

fn mount(index: usize, script_name: &str, path_info: &'static str) -> Decision<'static> {
    Decision::Mount {
        index,
        script_name: script_name.to_owned(),
        path_info,
    }
}

fn not_allowed(allow: &str) -> Decision<'static> {
    Decision::NotAllowed {
        allow: allow.to_owned(),
    }
}

fn redirect(location: &str) -> Decision<'static> {
    Decision::Redirect {
        location: location.to_owned(),
    }
}

/// One case: the rule it shows, the request line ("GET /path") and the decision.
type Case<'a> = (&'a str, &'a str, Decision<'a>);

/// Run `cases` against `d`, under SCRIPT_NAME `script_name`, with [`ORIGIN`].
fn check(d: &Dispatch, script_name: &str, cases: &[Case<'_>]) {
    for (rule, line, expected) in cases {
        let (method, path_info) = line.split_once(' ').unwrap_or((line, ""));
        let request = Request::new(Some(Ok(method)), Some(Ok(path_info)), Some(Ok(script_name)));
        let decision = d.decide(&request, |location| location(&ORIGIN));
        assert_eq!(&decision, expected, "{rule}");
    }
}

#[test]
fn mounts() {
    let d = dispatch(
        &[("GET", "/api/x"), ("GET", "/apix")],
        &["/api", "/api/v2", "/a/b", "/café"],
        true,
    );
    check(
        &d,
        "",
        &[
            (
                "a mount beats a route",
                "GET /api/x",
                mount(0, "/api", "/x"),
            ),
            ("the prefix alone", "GET /api", mount(0, "/api", "")),
            ("the prefix and a slash", "GET /api/", mount(0, "/api", "/")),
            (
                "the longest prefix wins",
                "GET /api/v2/z",
                mount(1, "/api/v2", "/z"),
            ),
            ("a shorter prefix", "GET /api/v2x", mount(0, "/api", "/v2x")),
            (
                "prefixes end on a segment boundary",
                "GET /apix",
                route(1, &[]),
            ),
            (
                "prefixes are case-sensitive",
                "GET /Api",
                Decision::NotFound,
            ),
            (
                "a prefix inside the path",
                "GET /other/api",
                Decision::NotFound,
            ),
            (
                "any method goes to a mount",
                "DELETE /a/b/c",
                mount(2, "/a/b", "/c"),
            ),
            (
                "an empty segment after the prefix",
                "GET /api//x",
                mount(0, "/api", "//x"),
            ),
            // "/café" is written in Unicode; PATH_INFO holds its UTF-8 bytes as latin-1.
            (
                "a non-ASCII prefix matches the request's UTF-8 bytes",
                "GET /caf\u{c3}\u{a9}/menu",
                mount(3, "/caf\u{c3}\u{a9}", "/menu"),
            ),
            (
                "a non-ASCII prefix is not its text",
                "GET /café/menu",
                Decision::NotFound,
            ),
        ],
    );
    check(
        &d,
        "/mnt",
        &[(
            "SCRIPT_NAME gains the prefix",
            "GET /api/v2",
            mount(1, "/mnt/api/v2", ""),
        )],
    );
}

#[test]
fn routes() {
    let d = dispatch(
        &[
            ("GET", "/"),
            ("GET", "/u/{name}"),
            ("GET", "/n/{id:int}"),
            ("*", "/any"),
            ("GET", "/f/{p:path}"),
        ],
        &[],
        true,
    );
    check(
        &d,
        "/app",
        &[
            ("the root", "GET /", route(0, &[])),
            ("an empty PATH_INFO is the root", "GET ", route(0, &[])),
            ("a parameter's value", "GET /u/bob", route(1, &["bob"])),
            (
                "HEAD is served by a GET route",
                "HEAD /u/x",
                route(1, &["x"]),
            ),
            (
                "UTF-8 in latin-1 is decoded",
                "GET /u/caf\u{c3}\u{a9}",
                route(1, &["café"]),
            ),
            (
                "invalid UTF-8 becomes U+FFFD",
                "GET /u/bad\u{ff}",
                route(1, &["bad\u{fffd}"]),
            ),
            ("an int is its digits", "GET /n/007", route(2, &["007"])),
            ("* takes any method", "PURGE /any", route(3, &[])),
            (
                "a path parameter takes the rest",
                "GET /f/a/b/",
                route(4, &["a/b/"]),
            ),
            ("no route", "GET /nowhere", Decision::NotFound),
        ],
    );
}

#[test]
fn method_not_allowed() {
    let d = dispatch(
        &[
            ("PUT,POST", "/x"),
            ("DELETE", "/x"),
            ("GET", "/g"),
            ("POST", "/{name}"),
        ],
        &[],
        true,
    );
    check(
        &d,
        "",
        &[
            (
                "405 lists every match's methods, sorted",
                "GET /x",
                not_allowed("DELETE, POST, PUT"),
            ),
            (
                "405 lists HEAD beside GET",
                "PATCH /g",
                not_allowed("GET, HEAD, POST"),
            ),
            (
                "a lower route taking the method is no 405",
                "POST /g",
                route(3, &["g"]),
            ),
            (
                "a toggled path that only 405s is no redirect",
                "GET /x/",
                Decision::NotFound,
            ),
        ],
    );
}

#[test]
fn slash_redirects() {
    let d = dispatch(
        &[
            ("GET", "/dir/"),
            ("GET", "/file"),
            ("POST", "/form/"),
            ("GET", "/users/{id:int}/"),
            ("GET", "/café/"),
        ],
        &[],
        true,
    );
    check(
        &d,
        "",
        &[
            (
                "308 adds the slash",
                "GET /dir",
                redirect("http://example.com/dir/"),
            ),
            (
                "308 removes the slash",
                "GET /file/",
                redirect("http://example.com/file"),
            ),
            (
                "308 for HEAD to a GET route",
                "HEAD /dir",
                redirect("http://example.com/dir/"),
            ),
            (
                "no 308 when the other form has not the method",
                "GET /form",
                Decision::NotFound,
            ),
            (
                "308 when it has",
                "POST /form",
                redirect("http://example.com/form/"),
            ),
            (
                "308 keeps raw segments",
                "GET /users/007",
                redirect("http://example.com/users/007/"),
            ),
            ("the root is never redirected", "GET /", Decision::NotFound),
        ],
    );
    check(
        &d,
        "/my app",
        &[(
            "308 percent-encodes the latin-1 path and SCRIPT_NAME",
            "GET /caf\u{c3}\u{a9}",
            redirect("http://example.com/my%20app/caf%C3%A9/"),
        )],
    );
    let both = dispatch(&[("GET", "/{name}"), ("GET", "/x/")], &[], true);
    check(
        &both,
        "",
        &[(
            "a path that matches is never redirected",
            "GET /x",
            route(0, &["x"]),
        )],
    );
    let off = dispatch(&[("GET", "/dir/"), ("GET", "/file")], &[], false);
    check(
        &off,
        "",
        &[
            (
                "redirect_slashes=False: no 308 to add one",
                "GET /dir",
                Decision::NotFound,
            ),
            (
                "redirect_slashes=False: no 308 to remove one",
                "GET /file/",
                Decision::NotFound,
            ),
        ],
    );
}

#[test]
fn environ_fields() {
    let d = dispatch(
        &[("GET", "/"), ("*", "/any"), ("GET", "/dir/")],
        &["/m"],
        true,
    );
    let ok = |text| Some(Ok(text));
    let cases: [(
        &str,
        FieldText<'_>,
        FieldText<'_>,
        FieldText<'_>,
        Decision<'_>,
    ); 6] = [
        (
            "no REQUEST_METHOD is GET",
            None,
            ok("/"),
            ok(""),
            route(0, &[]),
        ),
        (
            "no PATH_INFO is the root",
            ok("GET"),
            None,
            ok(""),
            route(0, &[]),
        ),
        (
            "no SCRIPT_NAME is empty",
            ok("GET"),
            ok("/m/x"),
            None,
            mount(0, "/m", "/x"),
        ),
        // Lone surrogates (no PEP 3333 server sends them) have no UTF-8 form.
        (
            "a method that is no text only * takes",
            Some(Err(())),
            ok("/any"),
            ok(""),
            route(1, &[]),
        ),
        (
            "a path that is no text is not found",
            ok("GET"),
            Some(Err(())),
            ok(""),
            Decision::NotFound,
        ),
        (
            "so is a SCRIPT_NAME",
            ok("GET"),
            ok("/dir"),
            Some(Err(())),
            Decision::NotFound,
        ),
    ];
    for (rule, method, path_info, script_name, expected) in cases {
        let request = Request::new(method, path_info, script_name);
        assert_eq!(
            d.decide(&request, |location| location(&ORIGIN)),
            expected,
            "{rule}"
        );
    }
}

#[test]
fn the_origin_is_read_only_for_a_redirect() {
    let d = dispatch(&[("GET", "/dir/"), ("POST", "/p")], &["/m"], true);
    for (line, redirects) in [
        ("GET /dir", true),
        ("GET /dir/", false),
        ("GET /m/x", false),
        ("GET /p", false),
        ("GET /nowhere", false),
    ] {
        let (method, path) = line.split_once(' ').unwrap_or((line, ""));
        let asked = Cell::new(false);
        let request = Request::new(Some(Ok(method)), Some(Ok(path)), None);
        d.decide(&request, |location| {
            asked.set(true);
            location(&ORIGIN)
        });
        assert_eq!(asked.get(), redirects, "{line}");
    }
}

/// (rule, scheme, Host, QUERY_STRING, SCRIPT_NAME, Location)
type LocationCase = (
    &'static str,
    &'static str,
    &'static [u8],
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn redirect_locations() {
    let d = dispatch(&[("GET", "/dir/")], &[], true);
    let cases: &[LocationCase] = &[
        (
            "the scheme and Host make it absolute",
            "https",
            b"example.com:8443",
            "",
            "/app",
            "https://example.com:8443/app/dir/",
        ),
        (
            "the query string is kept as sent",
            "http",
            b"h",
            "a=1&b=%20x",
            "",
            "http://h/dir/?a=1&b=%20x",
        ),
        (
            "an empty query string adds no '?'",
            "http",
            b"h",
            "",
            "",
            "http://h/dir/",
        ),
        (
            "what a header must not carry is encoded in the query",
            "http",
            b"h",
            "x\r\nSet-Cookie: a",
            "",
            "http://h/dir/?x%0D%0ASet-Cookie:%20a",
        ),
        (
            "a Host that is no authority: relative",
            "http",
            b"evil.com\r\nX: y",
            "",
            "",
            "/dir/",
        ),
        (
            "a userinfo '@' is no authority",
            "http",
            b"user@evil.com",
            "",
            "",
            "/dir/",
        ),
        (
            "a Host that is not UTF-8: relative",
            "http",
            b"h\xff",
            "q",
            "",
            "/dir/?q",
        ),
        ("an empty Host: relative", "http", b"", "", "", "/dir/"),
        (
            "a scheme that is no scheme: relative",
            "ht tp",
            b"h",
            "",
            "",
            "/dir/",
        ),
        (
            "a relative URL never names another host",
            "http",
            b"",
            "",
            "/",
            "/.//dir/",
        ),
    ];
    for (rule, scheme, host, query, script_name, expected) in cases {
        let origin = Origin {
            scheme,
            host,
            query,
        };
        let request = Request::new(None, Some(Ok("/dir")), Some(Ok(script_name)));
        let decision = d.decide(&request, |location| location(&origin));
        assert_eq!(decision, redirect(expected), "{rule}");
    }
}

#[test]
fn a_head_request_is_one_whose_method_is_head() {
    for (method, head) in [
        (Some(Ok("HEAD")), true),
        (Some(Ok("GET")), false),
        (Some(Ok("head")), false),
        (None, false),
        (Some(Err(())), false),
    ] {
        let request = Request::new(method, None, None);
        assert_eq!(request.is_head(), head, "{method:?}");
    }
}
