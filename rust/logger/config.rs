//! Logger's configuration (pure: no pyo3): the compiled format, what it needs from each
//! request, the trusted proxies and the level; rendering a line.

use super::format::{compile, Format, Item, Lookup, COMBINED, COMMON};
use super::proxies::Trusted;
use super::render::{self, Fields};

/// How lines are rendered.
pub enum Style {
    Apache(Vec<Item>),
    Json,
}

/// Which request facts a format uses, so nothing else is read per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub request_line: bool,
    pub remote: bool,
    pub user: bool,
    pub time: bool,
    /// The json fields (also what a callable sink receives).
    pub json: bool,
}

impl Needs {
    pub fn all() -> Needs {
        Needs {
            request_line: true,
            remote: true,
            user: true,
            time: true,
            json: true,
        }
    }

    pub fn of(items: &[Item]) -> Needs {
        let mut needs = Needs::default();
        for item in items {
            match item {
                Item::RemoteHost => needs.remote = true,
                Item::User => needs.user = true,
                Item::Time => needs.time = true,
                Item::RequestLine | Item::Method | Item::UrlPath | Item::Query | Item::Protocol => {
                    needs.request_line = true
                }
                _ => {}
            }
        }
        needs
    }
}

/// The immutable configuration of one `Logger`, shared by its requests.
pub struct LoggerConfig {
    pub style: Style,
    pub lookups: Vec<Lookup>,
    pub needs: Needs,
    pub trusted: Trusted,
    /// The level of the records of the logging sinks.
    pub level: i32,
}

impl LoggerConfig {
    /// One rendered line, without its newline.
    pub fn render(&self, fields: &Fields<'_>) -> Vec<u8> {
        let mut line = Vec::with_capacity(256);
        match &self.style {
            Style::Apache(items) => render::apache(items, fields, &mut line),
            Style::Json => render::json(fields, &mut line),
        }
        line
    }
}

/// Compile `format=`: a name ("common", "combined", "json") or an Apache LogFormat.
/// The error is the whole message, naming the parameter.
pub fn compile_format(text: String) -> Result<(String, Style, Vec<Lookup>, Needs), String> {
    let template = match text.as_str() {
        "json" => return Ok((text, Style::Json, Vec::new(), Needs::all())),
        "common" => COMMON,
        "combined" => COMBINED,
        other => other,
    };
    let Format { items, lookups } =
        compile(template).map_err(|e| format!("Logger(format={text:?}): {e}"))?;
    // A name with a typo ("combinded") would otherwise log itself on every line.
    if !template.contains('%') {
        return Err(format!(
            "Logger(format={text:?}): format has no % directive; use \"common\", \"combined\", \"json\" or an Apache LogFormat such as '%h %t \"%r\" %>s %b'"
        ));
    }
    let needs = Needs::of(&items);
    Ok((text, Style::Apache(items), lookups, needs))
}
