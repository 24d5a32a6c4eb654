//! The per-request decision of a Router: a mount, a route, 405, a slash redirect or nothing.
//! Pure (no pyo3): mounts and routes are numbered, the Python side keeps their apps and maps
//! the [`Decision`] to a call or an answer of its own.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use super::routes::Builder;
use super::table::{Match, Table};
use super::url::{
    decode_path, is_authority, is_scheme, longest_prefix, quote_latin1, quote_query, wsgi_path,
};

/// The compiled routes and mounts of one Router.
pub struct Dispatch {
    table: Table,
    /// Mount indexes (in the order mounted) by prefix, as PATH_INFO text (see [`wsgi_path`]).
    mounts: HashMap<String, usize, lru::DefaultHasher>,
    /// The length of the longest mount prefix (as PATH_INFO text).
    longest_mount: usize,
    redirect_slashes: bool,
}

/// What a request is decided by: borrowed from the environ's own str objects.
pub struct Request<'a> {
    method: &'a str,
    /// PATH_INFO as PEP 3333 gives it: the request's bytes as latin-1 characters.
    path_info: &'a str,
    script_name: &'a str,
    /// PATH_INFO or SCRIPT_NAME has lone surrogates (no PEP 3333 server sends them).
    unroutable: bool,
    /// PATH_INFO decoded as UTF-8, made when routes are looked at (a mounted request never
    /// needs it; an ASCII path is borrowed, not copied).
    path: OnceCell<Cow<'a, str>>,
}

/// An environ field's text: None when the field is absent, `Err` when its str has lone
/// surrogates (no UTF-8 form).
pub type FieldText<'a> = Option<Result<&'a str, ()>>;

impl<'a> Request<'a> {
    pub fn new(
        method: FieldText<'a>,
        path_info: FieldText<'a>,
        script_name: FieldText<'a>,
    ) -> Self {
        let or = |field: FieldText<'a>, absent: &'a str| field.unwrap_or(Ok(absent));
        let (path_info, script_name) = (or(path_info, ""), or(script_name, ""));
        Request {
            // A method with lone surrogates is no method a route names ("*" routes take it).
            method: or(method, "GET").unwrap_or(""),
            path_info: path_info.unwrap_or(""),
            script_name: script_name.unwrap_or(""),
            unroutable: path_info.is_err() || script_name.is_err(),
            path: OnceCell::new(),
        }
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    fn path(&self) -> &str {
        self.path.get_or_init(|| decode_path(self.path_info))
    }
}

/// What a redirect's Location takes from the request besides its path (PEP 3333 URL
/// reconstruction), read only when a redirect is made.
pub struct Origin<'a> {
    /// `wsgi.url_scheme` ("http" when absent).
    pub scheme: &'a str,
    /// The Host header, else SERVER_NAME with a port that is not the scheme's default.
    pub host: &'a [u8],
    /// QUERY_STRING as sent ("" when absent).
    pub query: &'a str,
}

/// What the Router does with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Mount `index` takes it (Werkzeug's DispatcherMiddleware): SCRIPT_NAME gains the prefix,
    /// PATH_INFO keeps the rest.
    Mount {
        index: usize,
        script_name: String,
        path_info: &'r str,
    },
    /// Route `route` takes it, with its parameter values (decoded text, in path order).
    Route { route: usize, values: Vec<&'r str> },
    /// 405: routes match the path, none for this method; `allow` is the Allow header.
    NotAllowed { allow: String },
    /// 308 to the other slash form of the path, which a route takes with this method.
    Redirect { location: String },
    /// Nothing matches: the default app, else 404.
    NotFound,
}

impl Dispatch {
    /// Compile the routes and mounts a Router was given; from now on they cannot change.
    pub fn new<A>(builder: &mut Builder<A>, redirect_slashes: bool) -> Dispatch {
        builder.frozen = true;
        let table = Table::new(
            builder
                .routes
                .iter()
                .map(|r| (r.pattern.clone(), r.methods.clone()))
                .collect(),
        );
        let mounts: HashMap<String, usize, lru::DefaultHasher> = builder
            .mounts
            .iter()
            .enumerate()
            .map(|(index, (prefix, _))| (wsgi_path(prefix).into_owned(), index))
            .collect();
        let longest_mount = mounts.keys().map(String::len).max().unwrap_or(0);
        Dispatch {
            table,
            mounts,
            longest_mount,
            redirect_slashes,
        }
    }

    /// Decide, in this order: not found when PATH_INFO or SCRIPT_NAME has lone surrogates (no
    /// route or mount can match them, and no URL can be built from them); the longest mount
    /// prefix (mounts come before routes); a route for the path and method; 405 when routes
    /// match the path with other methods only; a 308 to the other slash form when a route
    /// takes that with this method; else not found.
    ///
    /// `origin` is called only for a redirect (most requests never read the scheme, Host or
    /// query string): it reads them and gives them to the function it is handed, which builds
    /// the Location.
    pub fn decide<'r>(
        &self,
        request: &'r Request<'_>,
        origin: impl FnOnce(&dyn Fn(&Origin<'_>) -> String) -> String,
    ) -> Decision<'r> {
        if request.unroutable {
            return Decision::NotFound;
        }
        let raw = request.path_info;
        if !self.mounts.is_empty() {
            if let Some((&index, split)) =
                longest_prefix(raw, self.longest_mount, |prefix| self.mounts.get(prefix))
            {
                let prefix = raw.get(..split).unwrap_or("");
                return Decision::Mount {
                    index,
                    script_name: format!("{}{prefix}", request.script_name),
                    path_info: raw.get(split..).unwrap_or(""),
                };
            }
        }
        match self.table.find(request.path(), request.method) {
            Match::Found { route, values } => return Decision::Route { route, values },
            Match::WrongMethod(allowed) => {
                return Decision::NotAllowed {
                    allow: allowed.join(", "),
                }
            }
            Match::NotFound => {}
        }
        if self.redirect_slashes && raw.len() > 1 {
            let toggled = match raw.strip_suffix('/') {
                Some(without) => without.to_owned(),
                None => format!("{raw}/"),
            };
            if let Match::Found { .. } = self.table.find(&decode_path(&toggled), request.method) {
                let location = origin(&|origin| location(origin, request.script_name, &toggled));
                return Decision::Redirect { location };
            }
        }
        Decision::NotFound
    }
}

/// The absolute URL of `path` (raw PATH_INFO text) under `script` (raw SCRIPT_NAME text).
///
/// Nothing from the request reaches the header raw: the path and query are percent-encoded,
/// and a scheme or Host that is not URL syntax (CR, LF, NUL, spaces, "/", "@", non-ASCII...)
/// gives a relative Location (RFC 9110 §10.2.2 allows one).
fn location(origin: &Origin<'_>, script: &str, path: &str) -> String {
    let target = format!("{}{}", quote_latin1(script), quote_latin1(path));
    let scheme = origin.scheme;
    let mut url = match std::str::from_utf8(origin.host) {
        Ok(host) if is_scheme(scheme) && is_authority(host.as_bytes()) => {
            format!("{scheme}://{host}{target}")
        }
        // "//x" alone would name another host: "/./" keeps it a path on this one.
        _ if target.starts_with("//") => format!("/.{target}"),
        _ => target,
    };
    if !origin.query.is_empty() {
        url.push('?');
        url.push_str(&quote_query(origin.query));
    }
    url
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
