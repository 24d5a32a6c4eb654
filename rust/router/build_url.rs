//! `Router.url_for`: the path of a named route with its parameters filled in, checked against
//! their converters and percent-encoded; the other arguments become the query string. Pure
//! (no pyo3): the Python side turns each argument into text as it is asked for it.

use super::pattern::{Converter, Pattern, Segment};
use super::url::{encode_query, percent_encode};

/// One argument of `url_for`, as the Python side gives it.
#[derive(Debug, Clone)]
pub enum Arg {
    /// The value's text: `str()` of it (where an int is wanted, of an int).
    Text(String),
    /// Where an int is wanted, a value that is not one (a bool is not): its type's name.
    NotInt(String),
}

/// Why no URL was built: the message of the TypeError or ValueError to raise, or the error
/// reading an argument gave.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlError<E> {
    Type(String),
    Value(String),
    Arg(E),
}

/// The URL (relative to SCRIPT_NAME) of the route `name`, whose pattern is `pattern`.
///
/// `arg(param, int)` gives the argument called `param` (None: not given), `int` telling
/// whether the parameter wants an int; it is asked in path order. `query(used)` then gives
/// every argument that `used` does not say is a path parameter, in order, as text.
pub fn build_url<E>(
    name: &str,
    pattern: &Pattern,
    mut arg: impl FnMut(&str, bool) -> Result<Option<Arg>, E>,
    query: impl FnOnce(&dyn Fn(&str) -> bool) -> Result<Vec<(String, String)>, E>,
) -> Result<String, UrlError<E>> {
    let template = &pattern.template;
    let mut url = String::new();
    for segment in &pattern.segments {
        url.push('/');
        let (param, converter) = match segment {
            Segment::Static(text) => {
                url.push_str(&percent_encode(text, false));
                continue;
            }
            Segment::Param { name, converter } => (name, converter),
        };
        let int = matches!(converter, Converter::Int);
        let text = match arg(param, int).map_err(UrlError::Arg)? {
            None => {
                return Err(UrlError::Value(format!(
                    "Router.url_for({name:?}): missing parameter {param:?} for {template:?}"
                )))
            }
            Some(Arg::NotInt(type_name)) => {
                return Err(UrlError::Type(format!(
                    "Router.url_for({name:?}): {param} must be an int, not {type_name}"
                )))
            }
            Some(Arg::Text(text)) if int && text.starts_with('-') => {
                return Err(UrlError::Value(format!(
                    "Router.url_for({name:?}): {param} must be >= 0, not {text}"
                )))
            }
            Some(Arg::Text(text)) => text,
        };
        if !converter.accepts(&text) {
            return Err(UrlError::Value(format!(
                "Router.url_for({name:?}): {param}={text:?} would not match {template:?}"
            )));
        }
        url.push_str(&percent_encode(&text, matches!(converter, Converter::Path)));
    }
    if pattern.segments.is_empty() || pattern.trailing_slash {
        url.push('/');
    }
    let used = |key: &str| pattern.param_names().any(|param| param == key);
    let pairs = query(&used).map_err(UrlError::Arg)?;
    for (i, (key, value)) in pairs.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&encode_query(key));
        url.push('=');
        url.push_str(&encode_query(value));
    }
    Ok(url)
}

#[cfg(test)]
#[path = "build_url_tests.rs"]
mod tests;
