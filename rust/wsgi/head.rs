//! The response head: the status line and headers an app passed to `start_response`,
//! validated once, then edited by body filters before it goes upstream.
//!
//! Pure Rust: the PyO3 layer extracts the Python strings and hands them over.

/// Headers a WSGI app must not set (PEP 3333 "hop-by-hop"; the list wsgiref enforces).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Why a status line or header is unacceptable; the PyO3 layer prefixes the middleware name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    status: String,
    code: u16,
    headers: Vec<(String, String)>,
    /// True once a filter changed anything: the plumbing can then no longer hand the app's
    /// own status/headers objects upstream and must build new ones.
    edited: bool,
}

/// Parse a PEP 3333 status line: three digits, a space, a reason phrase (possibly empty).
pub fn parse_status(status: &str) -> Result<u16, HeadError> {
    let bytes = status.as_bytes();
    let well_formed = bytes.len() >= 4
        && bytes.iter().take(3).all(u8::is_ascii_digit)
        && bytes.get(3) == Some(&b' ');
    if !well_formed {
        return Err(HeadError(format!(
            "status {status:?} is not of the form \"NNN Reason\" (three digits, a space, a reason phrase)"
        )));
    }
    let code = status
        .get(..3)
        .and_then(|digits| digits.parse::<u16>().ok())
        .unwrap_or(0);
    if !(100..=599).contains(&code) {
        return Err(HeadError(format!(
            "status {status:?} has code {code}, outside 100-599"
        )));
    }
    if let Some(bad) = status.chars().find(|c| !is_field_char(*c)) {
        return Err(HeadError(format!(
            "status {status:?} contains the character {bad:?}, not allowed in a status line"
        )));
    }
    Ok(code)
}

/// RFC 9110 token characters (`tchar`), the only ones allowed in a field name.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Latin-1 and not a control character other than horizontal tab (RFC 9110 field-value).
fn is_field_char(c: char) -> bool {
    let cp = c as u32;
    cp <= 0xFF && (cp == 0x09 || (cp >= 0x20 && cp != 0x7F))
}

pub fn check_header(name: &str, value: &str) -> Result<(), HeadError> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(HeadError(format!(
            "header name {name:?} is not a valid HTTP field name (RFC 9110 token)"
        )));
    }
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(HeadError(format!(
            "hop-by-hop header {name:?} is not allowed from a WSGI application (PEP 3333); the server manages it"
        )));
    }
    if let Some(bad) = value.chars().find(|c| !is_field_char(*c)) {
        return Err(HeadError(format!(
            "header {name}: value {value:?} contains the character {bad:?} (values must be latin-1 without control characters)"
        )));
    }
    Ok(())
}

impl ResponseHead {
    /// Build a head from already-validated parts (see [`parse_status`], [`check_header`]).
    pub fn new(status: String, code: u16, headers: Vec<(String, String)>) -> Self {
        ResponseHead {
            status,
            code,
            headers,
            edited: false,
        }
    }

    /// Validate and build in one go (used by tests and by middlewares that answer on their own).
    pub fn parse(status: &str, headers: &[(&str, &str)]) -> Result<Self, HeadError> {
        let code = parse_status(status)?;
        for (name, value) in headers {
            check_header(name, value)?;
        }
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        Ok(Self::new(status.to_owned(), code, headers))
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn edited(&self) -> bool {
        self.edited
    }

    /// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
    pub fn forbids_body(&self) -> bool {
        self.code < 200 || self.code == 204 || self.code == 304
    }

    /// The first value of a header, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every comma-separated element of every instance of a list-valued header, trimmed.
    pub fn list_elements<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|element| !element.is_empty())
    }

    /// Remove every instance of a header; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let removed = self.headers.len() != before;
        self.edited |= removed;
        removed
    }

    /// Replace every instance of a header with one `name: value`, keeping the first position.
    pub fn set(&mut self, name: &str, value: &str) {
        if self.get(name) == Some(value)
            && self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .count()
                == 1
        {
            return;
        }
        let position = self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let entry = (name.to_owned(), value.to_owned());
        match position {
            Some(i) if i <= self.headers.len() => self.headers.insert(i, entry),
            _ => self.headers.push(entry),
        }
        self.edited = true;
    }

    pub fn append(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
        self.edited = true;
    }

    /// Add `field` to `Vary` unless it (or `*`) is already listed (RFC 9110 §12.5.5).
    pub fn merge_vary(&mut self, field: &str) {
        let present = self
            .list_elements("vary")
            .any(|f| f == "*" || f.eq_ignore_ascii_case(field));
        if present {
            return;
        }
        let merged = match self.get("vary") {
            Some(_) => {
                let mut all: Vec<&str> = self.list_elements("vary").collect();
                all.push(field);
                all.join(", ")
            }
            None => field.to_owned(),
        };
        self.set("Vary", &merged);
    }

    /// A strong ETag promises byte-identical bodies; once a filter changes the body it can
    /// only be a weak validator (RFC 9110 §8.8.1). True if the ETag was changed.
    pub fn weaken_etag(&mut self) -> bool {
        let Some(etag) = self.get("etag") else {
            return false;
        };
        let etag = etag.trim();
        if etag.starts_with("W/") || !etag.starts_with('"') {
            return false;
        }
        let weak = format!("W/{etag}");
        self.set("ETag", &weak);
        true
    }

    pub fn content_type(&self) -> Option<&str> {
        self.get("content-type")
    }

    /// Content-Encoding other than `identity` means the body is not plain representation bytes.
    pub fn is_content_encoded(&self) -> bool {
        self.list_elements("content-encoding")
            .any(|coding| !coding.eq_ignore_ascii_case("identity"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        // (status, expected code or None for an error): PEP 3333 "NNN reason", RFC 9110 range.
        let cases: [(&str, Option<u16>); 12] = [
            ("200 OK", Some(200)),
            ("404 Not Found", Some(404)),
            ("599 ", Some(599)),
            ("101 Switching Protocols", Some(101)),
            ("200", None),
            ("200OK", None),
            ("OK 200", None),
            ("20 OK", None),
            ("2000 OK", None),
            ("099 Low", None),
            ("600 High", None),
            ("200 OK\r\nX: y", None),
        ];
        for (status, expected) in cases {
            assert_eq!(parse_status(status).ok(), expected, "{status:?}");
        }
    }

    #[test]
    fn header_table() {
        let cases: [(&str, &str, bool); 10] = [
            ("Content-Type", "text/html; charset=utf-8", true),
            ("X-Tab", "a\tb", true),
            ("X-Latin1", "caf\u{e9}", true),
            ("Bad Name", "x", false),
            ("Bad:Name", "x", false),
            ("", "x", false),
            ("X-Split", "a\r\nInjected: yes", false),
            ("X-Wide", "\u{20ac}", false),
            ("Connection", "close", false),
            ("transfer-encoding", "chunked", false),
        ];
        for (name, value, ok) in cases {
            assert_eq!(check_header(name, value).is_ok(), ok, "{name:?}: {value:?}");
        }
    }

    fn head(headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead::parse("200 OK", headers).unwrap()
    }

    #[test]
    fn get_is_case_insensitive_and_first_wins() {
        let h = head(&[("X-A", "1"), ("x-a", "2")]);
        assert_eq!(h.get("X-a"), Some("1"));
        assert!(!h.edited());
    }

    #[test]
    fn set_replaces_all_instances_in_place() {
        let mut h = head(&[("A", "1"), ("Content-Length", "5"), ("content-length", "6")]);
        h.set("Content-Length", "9");
        assert_eq!(
            h.headers(),
            &[
                ("A".to_owned(), "1".to_owned()),
                ("Content-Length".to_owned(), "9".to_owned())
            ]
        );
        assert!(h.edited());
    }

    #[test]
    fn set_same_value_is_not_an_edit() {
        let mut h = head(&[("Content-Length", "5")]);
        h.set("content-length", "5");
        assert!(!h.edited());
    }

    #[test]
    fn vary_merge_table() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[], "Accept-Encoding"),
            (&[("Vary", "Cookie")], "Cookie, Accept-Encoding"),
            (&[("Vary", "accept-encoding")], "accept-encoding"),
            (&[("Vary", "*")], "*"),
            (
                &[("Vary", "Cookie"), ("Vary", "Origin")],
                "Cookie, Origin, Accept-Encoding",
            ),
        ];
        for (headers, expected) in cases {
            let mut h = head(headers);
            h.merge_vary("Accept-Encoding");
            assert_eq!(h.get("vary"), Some(expected), "{headers:?}");
        }
    }

    #[test]
    fn etag_weakening_table() {
        let cases: [(&str, &str); 3] = [
            ("\"abc\"", "W/\"abc\""),
            ("W/\"abc\"", "W/\"abc\""),
            ("garbage", "garbage"),
        ];
        for (etag, expected) in cases {
            let mut h = head(&[("ETag", etag)]);
            h.weaken_etag();
            assert_eq!(h.get("etag"), Some(expected));
        }
    }

    #[test]
    fn content_encoding_identity_is_not_encoded() {
        assert!(!head(&[("Content-Encoding", "identity")]).is_content_encoded());
        assert!(head(&[("Content-Encoding", "gzip")]).is_content_encoded());
        assert!(!head(&[]).is_content_encoded());
    }

    #[test]
    fn bodyless_statuses() {
        for (status, bodyless) in [
            ("100 Continue", true),
            ("204 No Content", true),
            ("304 Not Modified", true),
            ("200 OK", false),
            ("404 Not Found", false),
        ] {
            assert_eq!(
                ResponseHead::parse(status, &[]).unwrap().forbids_body(),
                bodyless
            );
        }
    }
}
