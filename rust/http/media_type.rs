//! Content-Type parsing and matching against a configured list of media types
//! (`text/html`, `text/*`, `*/*`), shared by every middleware that picks responses by type.

/// The parts of a Content-Type value the middlewares decide on, borrowed from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// `type/subtype` without parameters (the "essence" in WHATWG terms), as written: compare
    /// it case-insensitively.
    pub essence: &'a str,
    /// The `charset` parameter, unquoted, as written.
    pub charset: Option<&'a str>,
}

impl<'a> ContentType<'a> {
    /// Runs on every response a type-selective middleware sees, so it scans bytes instead of
    /// using `str::split` (whose char searcher cost ~300 instructions per response).
    pub fn parse(value: &'a str) -> Option<ContentType<'a>> {
        let bytes = value.as_bytes();
        let end = bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len());
        let essence = value.get(..end)?.trim();
        let slash = essence.bytes().position(|b| b == b'/')?;
        if slash == 0 || slash + 1 >= essence.len() {
            return None;
        }
        let params = value.get(end..).unwrap_or("");
        Some(ContentType {
            essence,
            charset: charset_param(params),
        })
    }
}

/// The value of the `charset` parameter in `; a=b; charset="x"`, unquoted.
fn charset_param(params: &str) -> Option<&str> {
    if params.is_empty() {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches('"').trim();
        (!value.is_empty()).then_some(value)
    })
}

/// A configured set of media types: exact essences plus `type/*` wildcards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaTypes {
    /// As given (normalised to lowercase), in order, for `__repr__` and error messages.
    entries: Vec<String>,
    /// `type/subtype` entries, for matching.
    exact: Vec<String>,
    /// The `type` of `type/*` entries.
    wildcard_kinds: Vec<String>,
    /// `type/*+suffix` entries: the type and the suffix with its `+`.
    suffixes: Vec<(String, String)>,
    /// `*/*` was given.
    any: bool,
}

impl MediaTypes {
    /// Validate entries of the form `type/subtype`, `type/*`, `*/*` or `type/*+suffix` (a
    /// structured-syntax suffix, RFC 6839: `application/*+json` matches
    /// `application/vnd.api+json` and `application/hal+json`).
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut types = MediaTypes::default();
        for entry in entries {
            let normal = entry.trim().to_ascii_lowercase();
            let Some((kind, subtype)) = normal.split_once('/') else {
                return Err(invalid(entry));
            };
            let valid = !kind.is_empty()
                && !subtype.is_empty()
                && !subtype.contains('/')
                && !normal.contains(';')
                && (kind != "*" || subtype == "*");
            if !valid {
                return Err(invalid(entry));
            }
            if types.entries.contains(&normal) {
                continue;
            }
            match (kind, subtype) {
                ("*", _) => types.any = true,
                (kind, "*") => types.wildcard_kinds.push(kind.to_owned()),
                (kind, suffixed) if suffixed.starts_with("*+") && suffixed.len() > 2 => {
                    types.suffixes.push((
                        kind.to_owned(),
                        suffixed.get(1..).unwrap_or_default().to_owned(),
                    ))
                }
                (_, subtype) if subtype.contains('*') => return Err(invalid(entry)),
                _ => types.exact.push(normal.clone()),
            }
            types.entries.push(normal);
        }
        Ok(types)
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// The entries as a Python tuple literal, for the classes' `__repr__`.
    pub fn py_tuple_repr(&self) -> String {
        let items: Vec<String> = self.entries.iter().map(|t| format!("{t:?}")).collect();
        let trailing = if items.len() == 1 { "," } else { "" };
        format!("({}{trailing})", items.join(", "))
    }

    /// Does a Content-Type essence (any case) match one of the entries?
    pub fn matches(&self, essence: &str) -> bool {
        if self.any || self.exact.iter().any(|e| e.eq_ignore_ascii_case(essence)) {
            return true;
        }
        let (kind, subtype) = match essence.bytes().position(|b| b == b'/') {
            Some(slash) => (
                essence.get(..slash).unwrap_or(essence),
                essence.get(slash + 1..).unwrap_or_default(),
            ),
            None => (essence, ""),
        };
        self.wildcard_kinds
            .iter()
            .any(|k| k.eq_ignore_ascii_case(kind))
            || self.suffixes.iter().any(|(k, suffix)| {
                k.eq_ignore_ascii_case(kind)
                    && subtype.len() > suffix.len()
                    && subtype
                        .get(subtype.len() - suffix.len()..)
                        .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
            })
    }
}

fn invalid(entry: &str) -> String {
    format!("{entry:?} is not a media type like \"text/html\" or \"text/*\"")
}

#[cfg(test)]
#[path = "media_type_tests.rs"]
mod tests;
