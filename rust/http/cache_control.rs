//! Cache-Control directives (RFC 9111 §5.2) the cache acts on, parsed leniently: unknown
//! directives are ignored, and where a value is unusable the most conservative reading wins.

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheControl {
    pub no_store: bool,
    /// Response: may not be reused without revalidation (we cannot revalidate, so: not
    /// stored). Request: skip the lookup and refresh the entry.
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    /// RFC 5861 (response): seconds after it goes stale that the response may still be
    /// served while it is refreshed, and when refreshing fails.
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
}

/// Split a header value on commas that are not inside a quoted string
/// (`private="Set-Cookie, X-Token"` is one directive). `backslash_escapes`: inside quotes a
/// backslash escapes the next byte (quoted-string, RFC 9110 §5.6.4); entity-tags have no
/// escapes (a backslash is an ordinary `etagc`).
pub fn split_outside_quotes(value: &str, backslash_escapes: bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted && backslash_escapes => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                parts.push(value.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or(""));
    parts
}

/// delta-seconds (RFC 9111 §1.2.2): digits; too large saturates ("treat as infinity"). A
/// value that is not a number makes the response stale (§4.2.1), so it reads as 0.
fn delta_seconds(value: Option<&str>) -> u64 {
    let Some(value) = value.map(|v| v.trim().trim_matches('"')) else {
        return 0;
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    value.parse::<u64>().unwrap_or(u64::MAX)
}

impl CacheControl {
    /// Every Cache-Control value of a message (the header may appear several times).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut cc = CacheControl::default();
        for value in values {
            for directive in split_outside_quotes(value, true) {
                let (name, argument) = match directive.split_once('=') {
                    Some((name, argument)) => (name.trim(), Some(argument)),
                    None => (directive.trim(), None),
                };
                // Duplicates keep the most restrictive value (the shortest lifetime).
                let shorter = |old: Option<u64>, new: u64| Some(old.map_or(new, |o| o.min(new)));
                match name.to_ascii_lowercase().as_str() {
                    "no-store" => cc.no_store = true,
                    // The qualified forms (`no-cache="Set-Cookie"`) name fields to drop
                    // before reuse; we do not rewrite stored headers, so any form counts.
                    "no-cache" => cc.no_cache = true,
                    "private" => cc.private = true,
                    "public" => cc.public = true,
                    "must-revalidate" | "proxy-revalidate" => cc.must_revalidate = true,
                    "max-age" => cc.max_age = shorter(cc.max_age, delta_seconds(argument)),
                    "s-maxage" => cc.s_maxage = shorter(cc.s_maxage, delta_seconds(argument)),
                    "stale-while-revalidate" => {
                        cc.stale_while_revalidate =
                            shorter(cc.stale_while_revalidate, delta_seconds(argument))
                    }
                    "stale-if-error" => {
                        cc.stale_if_error = shorter(cc.stale_if_error, delta_seconds(argument))
                    }
                    _ => {}
                }
            }
        }
        cc
    }
}

#[cfg(test)]
#[path = "cache_control_tests.rs"]
mod tests;
