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

/// Status and headers. All header text lives in one buffer (`text`) with `fields` pointing
/// into it: building a head costs two allocations however many headers the app sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    status: String,
    code: u16,
    text: String,
    fields: Vec<Field>,
    /// True once a filter changed anything: the plumbing can then no longer hand the app's
    /// own status/headers objects upstream and must build new ones.
    edited: bool,
    /// A filter replaced the whole response ([`ResponseHead::replace`]): the status line is
    /// no longer the app's either.
    replaced: bool,
}

/// One header: name is `text[start..split]`, value is `text[split..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    start: usize,
    split: usize,
    end: usize,
    /// Position in the app's header list when the header is the app's own, unchanged: the
    /// plumbing then reuses the app's tuple instead of building a new one.
    origin: Option<usize>,
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
/// A table: validation runs on every header of every response.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// Latin-1 and not a control character other than horizontal tab (RFC 9110 field-value).
fn is_field_char(c: char) -> bool {
    let cp = c as u32;
    cp <= 0xFF && (cp == 0x09 || (cp >= 0x20 && cp != 0x7F))
}

/// `is_field_char` for every char of `text`, on its UTF-8 bytes: a code point above U+00FF
/// starts with a lead byte of 0xC4 or more, and U+0080..U+00FF (lead 0xC2/0xC3 plus a
/// continuation byte) are all allowed, so a byte test suffices.
fn all_field_chars(text: &str) -> bool {
    text.bytes()
        .all(|b| (b >= 0x20 && b != 0x7F && b < 0xC4) || b == b'\t')
}

pub fn is_hop_by_hop(name: &str) -> bool {
    // Every hop-by-hop name is 2, 7, 8, 10, 17, 18 or 19 bytes long: most headers are
    // ruled out by length alone.
    matches!(name.len(), 2 | 7 | 8 | 10 | 17 | 18 | 19)
        && HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// A response with this status has no body: 1xx, 204, 304 (RFC 9110 §6.4.1).
pub fn status_forbids_body(code: u16) -> bool {
    code < 200 || code == 204 || code == 304
}

/// An RFC 9110 field name: one or more token characters.
pub fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| TCHAR[usize::from(b)])
}

pub fn check_header(name: &str, value: &str) -> Result<(), HeadError> {
    if !is_field_name(name) {
        return Err(HeadError(format!(
            "header name {name:?} is not a valid HTTP field name (RFC 9110 token)"
        )));
    }
    if is_hop_by_hop(name) {
        return Err(HeadError(format!(
            "hop-by-hop header {name:?} is not allowed from a WSGI application (PEP 3333); the server manages it"
        )));
    }
    if !all_field_chars(value) {
        let bad = value.chars().find(|c| !is_field_char(*c)).unwrap_or('?');
        return Err(HeadError(format!(
            "header {name}: value {value:?} contains the character {bad:?} (values must be latin-1 without control characters)"
        )));
    }
    Ok(())
}

impl ResponseHead {
    /// An empty head for an already-validated status (see [`parse_status`]); add headers
    /// with [`ResponseHead::push_checked`].
    pub fn new(status: String, code: u16, capacity: usize) -> Self {
        // Room for a typical field ("Content-Type: text/html; charset=utf-8" is 36 bytes)
        // and for the couple of fields a filter adds (Vary, X-Cache) without regrowing.
        ResponseHead {
            status,
            code,
            text: String::with_capacity((capacity + 2) * 40),
            fields: Vec::with_capacity(capacity + 2),
            edited: false,
            replaced: false,
        }
    }

    /// Replace the whole head, status line included, with a validated one (Cache's
    /// stale-if-error answer for an app's 5xx). None of the app's header objects is reused.
    pub fn replace(&mut self, status: &str, headers: &[(&str, &str)]) -> Result<(), HeadError> {
        let code = parse_status(status)?;
        let mut head = Self::new(status.to_owned(), code, headers.len());
        for (name, value) in headers {
            check_header(name, value)?;
            head.push(name, value, None);
        }
        head.edited = true;
        head.replaced = true;
        *self = head;
        Ok(())
    }

    /// Whether [`ResponseHead::replace`] replaced the status line.
    pub fn replaced(&self) -> bool {
        self.replaced
    }

    /// Validate one header (see [`check_header`]) and add it; not an edit. `origin` is its
    /// position in the app's own header list.
    pub fn push_checked(
        &mut self,
        name: &str,
        value: &str,
        origin: usize,
    ) -> Result<(), HeadError> {
        check_header(name, value)?;
        self.push(name, value, Some(origin));
        Ok(())
    }

    fn push(&mut self, name: &str, value: &str, origin: Option<usize>) {
        let start = self.text.len();
        self.text.push_str(name);
        let split = self.text.len();
        self.text.push_str(value);
        self.fields.push(Field {
            start,
            split,
            end: self.text.len(),
            origin,
        });
    }

    /// Validate and build in one go (used by tests and by middlewares that answer on their own).
    pub fn parse(status: &str, headers: &[(&str, &str)]) -> Result<Self, HeadError> {
        let code = parse_status(status)?;
        let mut head = Self::new(status.to_owned(), code, headers.len());
        for (i, (name, value)) in headers.iter().enumerate() {
            head.push_checked(name, value, i)?;
        }
        Ok(head)
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    fn field(&self, field: &Field) -> (&str, &str) {
        // Ranges were recorded at push time on char boundaries of `text`, which only grows.
        (
            self.text.get(field.start..field.split).unwrap_or(""),
            self.text.get(field.split..field.end).unwrap_or(""),
        )
    }

    /// The headers in order, as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields.iter().map(|f| self.field(f))
    }

    /// The headers in order, each with its position in the app's list when it is the app's own.
    pub fn headers_with_origin(&self) -> impl Iterator<Item = (&str, &str, Option<usize>)> + '_ {
        self.fields.iter().map(|f| {
            let (name, value) = self.field(f);
            (name, value, f.origin)
        })
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn edited(&self) -> bool {
        self.edited
    }

    /// 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1).
    pub fn forbids_body(&self) -> bool {
        status_forbids_body(self.code)
    }

    /// The first value of a header, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The declared Content-Length, when it is one plain decimal number.
    pub fn content_length(&self) -> Option<u64> {
        let value = self.get("content-length")?.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value.parse().ok()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every comma-separated element of every instance of a list-valued header, trimmed.
    pub fn list_elements<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|element| !element.is_empty())
    }

    fn count(&self, name: &str) -> usize {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// Remove every instance of a header; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        let text = &self.text;
        self.fields.retain(|f| {
            !text
                .get(f.start..f.split)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        let removed = self.fields.len() != before;
        self.edited |= removed;
        removed
    }

    /// Replace every instance of a header with one `name: value`, keeping the first position.
    pub fn set(&mut self, name: &str, value: &str) {
        let position = self
            .headers()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        let Some(position) = position else {
            // Not there yet (the usual case): just add it.
            self.append(name, value);
            return;
        };
        if self.get(name) == Some(value) && self.count(name) == 1 {
            return;
        }
        self.remove(name);
        self.push(name, value, None);
        // Move the new field (pushed last) back to where the first old instance was.
        if let Some(field) = self.fields.pop() {
            self.fields.insert(position.min(self.fields.len()), field);
        }
        self.edited = true;
    }

    pub fn append(&mut self, name: &str, value: &str) {
        self.push(name, value, None);
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

    /// The body is not the plain representation a body filter may change: it is encoded
    /// (Content-Encoding other than identity) or partial (a 206, or any Content-Range).
    pub fn is_encoded_or_partial(&self) -> bool {
        self.is_content_encoded() || self.code == 206 || self.contains("content-range")
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
