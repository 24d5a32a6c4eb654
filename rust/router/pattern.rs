//! Route templates: `/users/{id:int}/posts/{slug}` parsed into segments. Pure (no pyo3).

use regex::Regex;

/// The most digits an `{name:int}` segment has: CPython's default limit for converting a
/// decimal string to an int (`sys.int_info.default_max_str_digits`). Longer runs of digits
/// do not match, as in Werkzeug (its IntegerConverter's ValueError is a non-match): any
/// client could otherwise make `int()` raise out of the router.
pub const MAX_INT_DIGITS: usize = 4300;

/// How a `{...}` segment matches and converts.
#[derive(Debug, Clone)]
pub enum Converter {
    /// `{name}`: one non-empty segment, as text.
    Str,
    /// `{name:int}`: 1 to [`MAX_INT_DIGITS`] ASCII digits, converted to an int.
    Int,
    /// `{name:re:REGEX}`: one segment that REGEX matches entirely.
    Re { source: String, regex: Regex },
    /// `{name:path}`: the non-empty rest of the path, slashes included (last segment only).
    Path,
}

impl Converter {
    /// Rank within one segment position: lower is tried first (static text ranks before all).
    pub fn rank(&self) -> u8 {
        match self {
            Converter::Int => 0,
            Converter::Re { .. } => 1,
            Converter::Str => 2,
            Converter::Path => 3,
        }
    }

    /// Does one path segment (or, for Path, the rest of the path) match?
    pub fn accepts(&self, text: &str) -> bool {
        match self {
            Converter::Str | Converter::Path => !text.is_empty(),
            Converter::Int => {
                (1..=MAX_INT_DIGITS).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_digit())
            }
            Converter::Re { regex, .. } => regex.is_match(text),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Segment {
    Static(String),
    Param { name: String, converter: Converter },
}

#[derive(Debug, Clone)]
pub struct Pattern {
    /// The template as given (`wsgi_mw.route`).
    pub template: String,
    pub segments: Vec<Segment>,
    /// The template ends with "/" (and is not just "/").
    pub trailing_slash: bool,
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// A `{param}` is a whole segment: the brace opening it closes at the segment's end (a
/// regex's own balanced braces stay inside).
fn whole_param(segment: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut first_close = None;
    for (i, c) in segment.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && first_close.is_none() {
                    first_close = Some(i);
                }
            }
            _ => {}
        }
    }
    match first_close.map(|end| segment.get(end + 1..).unwrap_or("")) {
        Some("") => Ok(()),
        Some(rest) if rest.contains('{') => Err(format!(
            "segment {segment:?} holds more than one {{param}}: a parameter is a whole segment \
             (split it, as in /{{a:int}}/{{b:int}}, or match it with one {{name:re:REGEX}})"
        )),
        Some(_) => Err(text_beside(segment)),
        None => Err(format!("unbalanced braces in segment {segment:?}")),
    }
}

fn text_beside(segment: &str) -> String {
    format!(
        "segment {segment:?} has text beside a {{param}}: a parameter is a whole segment \
         (for a segment like v12, use {{name:re:v[0-9]+}})"
    )
}

fn parse_param(segment: &str) -> Result<Segment, String> {
    whole_param(segment)?;
    let inner = segment
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| format!("unbalanced braces in segment {segment:?}"))?;
    let (name, spec) = match inner.split_once(':') {
        Some((name, spec)) => (name, Some(spec)),
        None => (inner, None),
    };
    if !is_identifier(name) {
        return Err(format!(
            "parameter name {name:?} in {segment:?} is not an identifier"
        ));
    }
    let converter = match spec {
        None | Some("str") => Converter::Str,
        Some("int") => Converter::Int,
        Some("path") => Converter::Path,
        Some(spec) => match spec.strip_prefix("re:") {
            Some(source) => {
                if source.contains('/') {
                    return Err(format!(
                        "the regex of {{{name}}} may not match '/' (one segment): {source:?}"
                    ));
                }
                let regex = Regex::new(&format!("^(?:{source})$"))
                    .map_err(|e| format!("invalid regex for {{{name}}}: {e}"))?;
                Converter::Re {
                    source: source.to_owned(),
                    regex,
                }
            }
            None => {
                return Err(format!(
                    "unknown converter {spec:?} in {segment:?} (known: int, path, re:REGEX, str)"
                ))
            }
        },
    };
    if !matches!(converter, Converter::Re { .. }) && inner.matches(['{', '}']).next().is_some() {
        return Err(format!("unbalanced braces in segment {segment:?}"));
    }
    Ok(Segment::Param {
        name: name.to_owned(),
        converter,
    })
}

/// Split on "/" outside braces, so a regex's own "/" is seen (and refused) as part of its
/// parameter, not as a segment boundary.
fn split_segments(rest: &str) -> Result<Vec<&str>, String> {
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced braces in {rest:?}"))?
            }
            '/' if depth == 0 => {
                segments.push(rest.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced braces in {rest:?}"));
    }
    segments.push(rest.get(start..).unwrap_or(""));
    Ok(segments)
}

impl Pattern {
    pub fn parse(template: &str) -> Result<Pattern, String> {
        let Some(rest) = template.strip_prefix('/') else {
            return Err(format!("{template:?} must start with '/'"));
        };
        let (rest, trailing_slash) = match rest.strip_suffix('/') {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let mut segments = Vec::new();
        if !rest.is_empty() || trailing_slash {
            for segment in split_segments(rest)? {
                if segment.is_empty() {
                    return Err(format!("{template:?} has an empty segment ('//')"));
                }
                if segment.starts_with('{') {
                    segments.push(parse_param(segment)?);
                } else if segment.contains('{') {
                    return Err(text_beside(segment));
                } else if segment.contains('}') {
                    return Err(format!("unbalanced braces in segment {segment:?}"));
                } else {
                    segments.push(Segment::Static(segment.to_owned()));
                }
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            if let Segment::Param { name, converter } = segment {
                if names.contains(&name.as_str()) {
                    return Err(format!(
                        "parameter {{{name}}} appears twice in {template:?}"
                    ));
                }
                names.push(name);
                if matches!(converter, Converter::Path)
                    && (i + 1 != segments.len() || trailing_slash)
                {
                    return Err(format!(
                        "{{{name}:path}} must be the last segment of {template:?}"
                    ));
                }
            }
        }
        Ok(Pattern {
            template: template.to_owned(),
            segments,
            trailing_slash,
        })
    }

    /// Two patterns with the same shape match exactly the same paths (names do not count).
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Static(text) => {
                    shape.push('s');
                    shape.push_str(&text.len().to_string());
                    shape.push(':');
                    shape.push_str(text);
                }
                Segment::Param { converter, .. } => match converter {
                    Converter::Str => shape.push_str("{str}"),
                    Converter::Int => shape.push_str("{int}"),
                    Converter::Path => shape.push_str("{path}"),
                    Converter::Re { source, .. } => {
                        shape.push_str("{re");
                        shape.push_str(&source.len().to_string());
                        shape.push(':');
                        shape.push_str(source);
                        shape.push('}');
                    }
                },
            }
        }
        if self.trailing_slash {
            shape.push_str("/+");
        }
        shape
    }

    /// The parameters in path order, with their converters.
    pub fn params(&self) -> impl Iterator<Item = (&str, &Converter)> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param { name, converter } => Some((name.as_str(), converter)),
            Segment::Static(_) => None,
        })
    }

    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params().map(|(name, _)| name)
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
