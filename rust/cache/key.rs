//! Cache keys: the request's URI parts plus the values of the headers the response varies on.
//! Every part is length-prefixed, so no value can fake a boundary: Django before 6.0 joined
//! header values with a separator that could occur inside them, and two different requests
//! shared an entry.

use crate::http::accept_encoding::normal_form;

/// Marks a header the request did not send, distinct from every length (and so from "").
const ABSENT: u64 = u64::MAX;

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The URI key this key extends: its first five parts, or the whole key when it was
    /// not made by [`KeyBuilder`].
    pub fn uri(&self) -> Key {
        let mut rest = self.0.as_slice();
        let mut len = 0;
        for _ in 0..5 {
            let Some((part, tail)) = rest.split_first_chunk::<8>() else {
                return self.clone();
            };
            let part = usize::try_from(u64::from_be_bytes(*part)).unwrap_or(usize::MAX);
            let Some(tail) = tail.get(part..) else {
                return self.clone();
            };
            len += 8 + part;
            rest = tail;
        }
        Key(self.0.get(..len).unwrap_or_default().to_vec())
    }

    /// The URI parts: scheme, host (lowercase), SCRIPT_NAME, PATH_INFO, query string.
    /// None for a key not made by [`KeyBuilder`].
    pub fn uri_parts(&self) -> Option<[&[u8]; 5]> {
        let mut rest = self.0.as_slice();
        let mut parts: [&[u8]; 5] = [&[]; 5];
        for part in &mut parts {
            let (len, tail) = rest.split_first_chunk::<8>()?;
            let len = usize::try_from(u64::from_be_bytes(*len)).ok()?;
            if len > tail.len() {
                return None;
            }
            let (value, tail) = tail.split_at(len);
            *part = value;
            rest = tail;
        }
        Some(parts)
    }
}

/// Whether a key's host (lowercase, maybe with a port) is `host` (`Cache.purge(host=...)`):
/// equal ignoring case, or, when `host` names no port, the same name on any port.
pub fn host_matches(key_host: &[u8], host: &str) -> bool {
    let host = host.as_bytes();
    key_host.eq_ignore_ascii_case(host)
        || (!host.contains(&b':')
            && key_host
                .get(..host.len())
                .is_some_and(|name| name.eq_ignore_ascii_case(host))
            && key_host.get(host.len()) == Some(&b':'))
}

/// What `Cache.purge(url_or_path)` names: a path (`/blog/post`), or an absolute http(s) URL
/// whose host (lowercase) limits the purge. The query string and fragment are ignored.
pub fn purge_target(target: &str) -> Result<(Option<String>, String), String> {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        target.get(7..)
    } else if lower.starts_with("https://") {
        target.get(8..)
    } else if target.starts_with('/') {
        return Ok((None, target.to_owned()));
    } else {
        return Err("expected a path starting with '/' or an http:// or https:// URL".to_owned());
    };
    let rest = rest.unwrap_or_default();
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, rest) = rest.split_at(end);
    if host.is_empty() {
        return Err("the URL names no host".to_owned());
    }
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = rest.get(..end).unwrap_or_default();
    let path = if path.is_empty() { "/" } else { path };
    Ok((Some(host.to_ascii_lowercase()), path.to_owned()))
}

#[derive(Debug, Default)]
pub struct KeyBuilder(Vec<u8>);

impl KeyBuilder {
    /// The URI part, the same for every variant (RFC 9111 §2: the target URI).
    /// Each part is the exact code points of its environ value (see
    /// `wsgi::text::code_point_bytes`), so two different values never share a key.
    pub fn new(
        scheme: impl AsRef<[u8]>,
        host: impl AsRef<[u8]>,
        script_name: impl AsRef<[u8]>,
        path_info: impl AsRef<[u8]>,
        query: impl AsRef<[u8]>,
    ) -> Self {
        let (scheme, host) = (scheme.as_ref(), host.as_ref());
        let (script_name, path_info, query) =
            (script_name.as_ref(), path_info.as_ref(), query.as_ref());
        let mut builder = KeyBuilder(Vec::with_capacity(
            scheme.len() + host.len() + script_name.len() + path_info.len() + query.len() + 48,
        ));
        builder.part(scheme);
        // Host names are case-insensitive: lowercase in place, no temporary string.
        let start = builder.0.len() + 8;
        builder.part(host);
        if let Some(host) = builder.0.get_mut(start..) {
            host.make_ascii_lowercase();
        }
        for part in [script_name, path_info, query] {
            builder.part(part);
        }
        builder
    }

    /// Continue from a finished key (a URI key, to add the Vary values).
    pub fn extend(key: &Key) -> Self {
        KeyBuilder(key.0.clone())
    }

    fn part(&mut self, bytes: &[u8]) {
        let len = u64::try_from(bytes.len()).unwrap_or(ABSENT - 1);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    /// One request header named by the response's Vary: its name and its value, normalised
    /// where equivalent values must share an entry (Accept-Encoding: its normal form, what of
    /// it decides the coding a response gets).
    /// `value` is the exact code points of the request's value (see `KeyBuilder::new`).
    pub fn vary(&mut self, name: &str, value: Option<&[u8]>) {
        let name = name.trim();
        // The name lowercased in place, without a temporary string.
        let start = self.0.len() + 8;
        self.part(name.as_bytes());
        if let Some(name) = self.0.get_mut(start..) {
            name.make_ascii_lowercase();
        }
        match value {
            None => self.0.extend_from_slice(&ABSENT.to_be_bytes()),
            Some(value) if name.eq_ignore_ascii_case("accept-encoding") => {
                // Not UTF-8 (a lone surrogate): not a list of tokens, so it accepts nothing.
                let value = std::str::from_utf8(value).unwrap_or("\0");
                normal_form_part(value, |part| self.part(part.as_bytes()));
            }
            Some(value) => self.part(value.trim_ascii()),
        }
    }

    pub fn finish(self) -> Key {
        Key(self.0)
    }
}

/// Accept-Encoding values kept per thread with their normal forms, and the longest kept.
const KEPT_VALUES: usize = 8;
const KEPT_LENGTH: usize = 256;

thread_local! {
    static NORMAL_FORMS: std::cell::RefCell<Vec<(String, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Hand `use_part` the normal form of an Accept-Encoding value, as the key writes it.
/// Clients send a handful of distinct values, so the last few short ones are kept per thread
/// and a hit of a varied entry does not parse the header again; any other value is parsed
/// as before (linear in its length).
fn normal_form_part(value: &str, use_part: impl FnOnce(&str)) {
    let mut use_part = Some(use_part);
    NORMAL_FORMS.with(|kept| {
        if let Some((_, joined)) = kept.borrow().iter().find(|(raw, _)| raw == value) {
            if let Some(use_part) = use_part.take() {
                use_part(joined);
            }
        }
    });
    let Some(use_part) = use_part else {
        return;
    };
    let joined = normal_form(Some(value));
    if value.len() <= KEPT_LENGTH {
        NORMAL_FORMS.with(|kept| {
            let mut kept = kept.borrow_mut();
            if kept.len() == KEPT_VALUES {
                kept.remove(0);
            }
            kept.push((value.to_owned(), joined.clone()));
        });
    }
    use_part(&joined);
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
