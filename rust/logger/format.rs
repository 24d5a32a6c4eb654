//! Apache `LogFormat` strings compiled once into items, and Apache's escaping of logged values
//! (mod_log_config's `ap_escape_logitem`), so a client cannot forge a log line. Pure (no pyo3).
//!
//! Issue 6 groundwork: the Logger class is not built yet; nothing here is exposed to Python.

/// `"common"`: the Common Log Format.
pub const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
/// `"combined"`: common plus the referer and the user agent.
pub const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Literal(String),
    /// `%h`: the client address.
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
    /// `%{X}i`: a request header.
    RequestHeader(String),
    /// `%{X}o`: a response header.
    ResponseHeader(String),
    /// `%{X}e`: an environ value.
    Environ(String),
}

/// Compile a format string. Unknown directives are an error that names them.
pub fn compile(format: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
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
            ('i', Some(name)) if !name.is_empty() => Item::RequestHeader(name),
            ('o', Some(name)) if !name.is_empty() => Item::ResponseHeader(name),
            ('e', Some(name)) if !name.is_empty() => Item::Environ(name),
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
    Ok(items)
}

/// Append `bytes` escaped as Apache does: `"` and `\` backslash-escaped, `\b \n \r \t \v` as
/// C escapes, every other byte outside printable ASCII as `\xhh`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for &byte in bytes {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x08 => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
