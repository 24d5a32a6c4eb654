//! One access-log line from the facts of a finished request: an Apache-format line (every
//! request-supplied value escaped) or a JSON object (always valid, ASCII only). Pure.

use std::borrow::Cow;

use super::clock::LocalTime;
use super::format::{escape_str_into, push_number, wsgi_bytes, Item};

/// What is known about a request once its response ended. Text is WSGI strings (see
/// [`wsgi_bytes`]); `None` prints `-` (Apache) or `null` (JSON).
#[derive(Debug, Clone, Default)]
pub struct Fields<'a> {
    /// Request start in local time, and its milliseconds.
    pub time: Option<LocalTime>,
    pub millis: u32,
    pub remote: Option<&'a str>,
    pub user: Option<&'a str>,
    pub method: Option<&'a str>,
    pub script_name: &'a str,
    pub path_info: &'a str,
    pub query: &'a str,
    pub protocol: Option<&'a str>,
    pub status: Option<u16>,
    pub bytes: u64,
    pub duration_us: u64,
    /// The values of the format's lookups, by slot.
    pub lookups: Vec<Option<Cow<'a, str>>>,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub route: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// Percent-encode a path as `urllib.parse.quote(path, safe="/!$&'()*+,;=:@~")` does: the
/// request line shows it as a client would send it (a `%` in PATH_INFO came from `%25`).
pub fn quote_path(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        let keep = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        }
    }
}

/// SCRIPT_NAME + PATH_INFO percent-encoded (see [`quote_path`]).
pub fn quoted_path(fields: &Fields<'_>, out: &mut Vec<u8>) {
    quote_path(&wsgi_bytes(fields.script_name), out);
    quote_path(&wsgi_bytes(fields.path_info), out);
}

/// A WSGI string as the text it most likely is: its bytes decoded as UTF-8 when they are
/// valid UTF-8 (what clients send today), else the string as it is (latin-1).
pub fn text_value(text: &str) -> Cow<'_, str> {
    match wsgi_bytes(text) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(decoded) => Cow::Owned(decoded),
            Err(_) => Cow::Borrowed(text),
        },
    }
}

/// Render an Apache-format line (no newline).
pub fn apache(items: &[Item], fields: &Fields<'_>, out: &mut Vec<u8>) {
    let text = |value: Option<&str>, out: &mut Vec<u8>| match value {
        Some(value) => escape_str_into(value, out),
        None => out.push(b'-'),
    };
    for item in items {
        match item {
            Item::Literal(literal) => out.extend_from_slice(literal.as_bytes()),
            Item::RemoteHost => text(fields.remote.filter(|r| !r.is_empty()), out),
            Item::Ident => out.push(b'-'),
            // Apache prints an empty user name as "" so the field is still visible.
            Item::User => match fields.user {
                Some("") => out.extend_from_slice(b"\"\""),
                user => text(user, out),
            },
            Item::Time => match &fields.time {
                Some(time) => time.write_clf(out),
                None => out.push(b'-'),
            },
            Item::RequestLine => {
                // Escaped part by part (escaping is per byte); the quoted path needs none.
                escape_str_into(fields.method.unwrap_or("-"), out);
                out.push(b' ');
                quoted_path(fields, out);
                if !fields.query.is_empty() {
                    out.push(b'?');
                    escape_str_into(fields.query, out);
                }
                out.push(b' ');
                escape_str_into(fields.protocol.unwrap_or("-"), out);
            }
            Item::Status => match fields.status {
                Some(status) => push_number(out, u64::from(status), 1),
                None => out.push(b'-'),
            },
            Item::BytesClf if fields.bytes == 0 => out.push(b'-'),
            Item::BytesClf | Item::Bytes => push_number(out, fields.bytes, 1),
            Item::DurationMicros => push_number(out, fields.duration_us, 1),
            Item::DurationSeconds => push_number(out, fields.duration_us / 1_000_000, 1),
            Item::Method => text(fields.method, out),
            Item::UrlPath => {
                escape_str_into(fields.script_name, out);
                escape_str_into(fields.path_info, out);
            }
            Item::Query => {
                if !fields.query.is_empty() {
                    out.push(b'?');
                    escape_str_into(fields.query, out);
                }
            }
            Item::Protocol => text(fields.protocol, out),
            Item::Lookup(slot) => text(fields.lookups.get(*slot).and_then(|v| v.as_deref()), out),
        }
    }
}

/// Append `text` as a JSON string, ASCII only (like `json.dumps(ensure_ascii=True)`).
pub fn json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            // Printable ASCII: one byte.
            ' '..='~' => out.push(c as u8),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(b"\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(HEX[usize::from((*unit >> shift) & 0xf)]);
                    }
                }
            }
        }
    }
    out.push(b'"');
}

fn json_text(value: Option<&str>, out: &mut Vec<u8>) {
    match value {
        Some(value) => json_string(&text_value(value), out),
        None => out.extend_from_slice(b"null"),
    }
}

/// Render the JSON object (no newline). Keys in the documented order.
pub fn json(fields: &Fields<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":");
    match &fields.time {
        Some(time) => {
            out.push(b'"');
            time.write_iso(fields.millis, out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"remote_addr\":");
    json_text(fields.remote.filter(|r| !r.is_empty()), out);
    out.extend_from_slice(b",\"method\":");
    json_text(fields.method, out);
    out.extend_from_slice(b",\"path\":");
    // Percent-encoded: no quote or backslash to escape.
    out.push(b'"');
    quoted_path(fields, out);
    out.push(b'"');
    out.extend_from_slice(b",\"query\":");
    json_text(Some(fields.query), out);
    out.extend_from_slice(b",\"protocol\":");
    json_text(fields.protocol, out);
    out.extend_from_slice(b",\"status\":");
    match fields.status {
        Some(status) => push_number(out, u64::from(status), 1),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"bytes\":");
    push_number(out, fields.bytes, 1);
    out.extend_from_slice(b",\"duration_us\":");
    push_number(out, fields.duration_us, 1);
    out.extend_from_slice(b",\"referer\":");
    json_text(fields.referer, out);
    out.extend_from_slice(b",\"user_agent\":");
    json_text(fields.user_agent, out);
    out.extend_from_slice(b",\"route\":");
    json_text(fields.route, out);
    if let Some(request_id) = fields.request_id {
        out.extend_from_slice(b",\"request_id\":");
        json_text(Some(request_id), out);
    }
    out.push(b'}');
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
