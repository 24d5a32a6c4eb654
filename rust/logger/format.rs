//! Apache `LogFormat` strings compiled once into items, and Apache's escaping of logged values
//! (mod_log_config's `ap_escape_logitem`), so a client cannot forge a log line. Pure (no pyo3).

/// `"common"`: the Common Log Format.
pub const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
/// `"combined"`: common plus the referer and the user agent.
pub const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Literal(String),
    /// `%h`, `%a`: the client address.
    RemoteHost,
    /// `%l`: identd name, always `-`.
    Ident,
    /// `%u`: REMOTE_USER.
    User,
    /// `%t`: request start, `[10/Oct/2000:13:55:36 -0700]`.
    Time,
    /// `%r`: the request line, rebuilt from the environ.
    RequestLine,
    /// `%s`, `%>s`, `%<s`: the status sent (one middleware: original and final are the same).
    Status,
    /// `%b`: body bytes sent, `-` for none.
    BytesClf,
    /// `%B`: body bytes sent, `0` for none.
    Bytes,
    /// `%D`: duration in microseconds.
    DurationMicros,
    /// `%T`: duration in whole seconds.
    DurationSeconds,
    /// `%m`: the method.
    Method,
    /// `%U`: the URL path (SCRIPT_NAME + PATH_INFO).
    UrlPath,
    /// `%q`: `?query`, or nothing.
    Query,
    /// `%H`: the protocol.
    Protocol,
    /// `%{X}i`, `%{X}o`, `%{X}e`: the value looked up for slot `n` of [`Format::lookups`].
    Lookup(usize),
}

/// Where a `%{X}?` value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `%{X}i`: a request header, read from the environ key in [`Lookup::key`].
    RequestHeader,
    /// `%{X}o`: a response header named [`Lookup::key`] (case-insensitive).
    ResponseHeader,
    /// `%{X}e`: the environ key [`Lookup::key`].
    Environ,
}

/// A value the format needs from the request, the response or the environ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub source: Source,
    /// The environ key (`HTTP_USER_AGENT`, `CONTENT_TYPE`, `wsgi_mw.route`) or the response
    /// header name as written in the format.
    pub key: String,
}

/// A compiled format: the items in order, and the lookups they refer to by slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub items: Vec<Item>,
    pub lookups: Vec<Lookup>,
}

/// The environ key PEP 3333 gives request header `name` (`User-Agent` → `HTTP_USER_AGENT`;
/// `Content-Type` and `Content-Length` have no `HTTP_` prefix).
pub fn environ_key(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    match upper.as_str() {
        "CONTENT_TYPE" | "CONTENT_LENGTH" => upper,
        _ => format!("HTTP_{upper}"),
    }
}

/// Compile a format string. Unknown directives are an error that names them.
pub fn compile(format: &str) -> Result<Format, String> {
    let mut items = Vec::new();
    let mut lookups = Vec::new();
    let mut literal = String::new();
    let mut chars = format.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut argument = None;
        if chars.peek().map(|&(_, c)| c) == Some('{') {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some((_, '}')) => break,
                    Some((_, c)) => name.push(c),
                    None => return Err(format!("unclosed %{{ at position {at}")),
                }
            }
            argument = Some(name);
        }
        // `%>s` / `%<s`: Apache's final / original status.
        if argument.is_none() && matches!(chars.peek().map(|&(_, c)| c), Some('>' | '<')) {
            chars.next();
            if chars.peek().map(|&(_, c)| c) != Some('s') {
                return Err(format!(
                    "unknown directive at position {at}: only %>s and %<s take '>' or '<'"
                ));
            }
        }
        let Some((_, directive)) = chars.next() else {
            return Err(format!(
                "'%' at the end of the format (position {at}); write %% for a percent sign"
            ));
        };
        let mut lookup = |source, key| {
            lookups.push(Lookup { source, key });
            Item::Lookup(lookups.len() - 1)
        };
        let item = match (directive, argument) {
            ('%', None) => {
                literal.push('%');
                continue;
            }
            ('h' | 'a', None) => Item::RemoteHost,
            ('l', None) => Item::Ident,
            ('u', None) => Item::User,
            ('t', None) => Item::Time,
            ('r', None) => Item::RequestLine,
            ('s', None) => Item::Status,
            ('b', None) => Item::BytesClf,
            ('B', None) => Item::Bytes,
            ('D', None) => Item::DurationMicros,
            ('T', None) => Item::DurationSeconds,
            ('m', None) => Item::Method,
            ('U', None) => Item::UrlPath,
            ('q', None) => Item::Query,
            ('H', None) => Item::Protocol,
            ('i', Some(name)) if !name.is_empty() => {
                lookup(Source::RequestHeader, environ_key(&name))
            }
            ('o', Some(name)) if !name.is_empty() => lookup(Source::ResponseHeader, name),
            ('e', Some(name)) if !name.is_empty() => lookup(Source::Environ, name),
            (directive, Some(name)) => {
                return Err(format!(
                    "unknown directive %{{{name}}}{directive} at position {at} (known with an argument: %{{X}}i, %{{X}}o, %{{X}}e)"
                ))
            }
            (directive, None) => {
                return Err(format!("unknown directive %{directive} at position {at}"))
            }
        };
        if !literal.is_empty() {
            items.push(Item::Literal(std::mem::take(&mut literal)));
        }
        items.push(item);
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    Ok(Format { items, lookups })
}

/// Append `bytes` escaped as Apache does: `"` and `\` backslash-escaped, `\b \n \r \t \v` as
/// C escapes, every other byte outside printable ASCII as `\xhh`.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let plain = |b: u8| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\';
    let mut rest = bytes;
    while !rest.is_empty() {
        // Copy the run of bytes that need no escaping in one go (most of any line).
        let run = rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len());
        let (clean, tail) = rest.split_at(run);
        out.extend_from_slice(clean);
        let Some((&byte, tail)) = tail.split_first() else {
            break;
        };
        rest = tail;
        match byte {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
    }
}

/// Append `n` in decimal, at least `width` digits (zero-padded). `write!` costs several
/// times more, and a line has a handful of numbers.
pub fn push_number(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = at.min(digits.len().saturating_sub(width));
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// The bytes a WSGI string stands for: PEP 3333 native strings carry one byte per code point
/// (latin-1), so a string whose code points all fit in a byte is those bytes; any other
/// string (not from the server: an app's own text) is taken as UTF-8.
pub fn wsgi_bytes(text: &str) -> std::borrow::Cow<'_, [u8]> {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xff) {
        return std::borrow::Cow::Borrowed(text.as_bytes());
    }
    // Every char fits in a byte (checked above), so the cast loses nothing.
    std::borrow::Cow::Owned(text.chars().map(|c| u32::from(c) as u8).collect())
}

/// [`escape_into`] for a WSGI string (see [`wsgi_bytes`]).
pub fn escape_str_into(text: &str, out: &mut Vec<u8>) {
    escape_into(&wsgi_bytes(text), out);
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
