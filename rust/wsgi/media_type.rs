//! Content-Type parsing and matching against a configured list of media types
//! (`text/html`, `text/*`, `*/*`), shared by every middleware that picks responses by type.

/// The parts of a Content-Type value the middlewares decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lowercased, parameters removed (the "essence" in WHATWG terms).
    pub essence: String,
    /// The `charset` parameter, lowercased and unquoted.
    pub charset: Option<String>,
}

impl ContentType {
    pub fn parse(value: &str) -> Option<ContentType> {
        let mut parts = value.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/')?;
        if kind.is_empty() || subtype.is_empty() {
            return None;
        }
        let charset = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("charset") {
                return None;
            }
            let value = value.trim().trim_matches('"').trim().to_ascii_lowercase();
            (!value.is_empty()).then_some(value)
        });
        Some(ContentType { essence, charset })
    }
}

/// A configured set of media types: exact essences plus `type/*` wildcards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaTypes {
    /// As given (normalised to lowercase), in order, for `__repr__` and error messages.
    entries: Vec<String>,
}

impl MediaTypes {
    /// Validate entries of the form `type/subtype`, `type/*` or `*/*`.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for entry in entries {
            let normal = entry.trim().to_ascii_lowercase();
            let valid = match normal.split_once('/') {
                Some((kind, subtype)) => {
                    !kind.is_empty()
                        && !subtype.is_empty()
                        && !subtype.contains('/')
                        && !normal.contains(';')
                        && (kind != "*" || subtype == "*")
                }
                None => false,
            };
            if !valid {
                return Err(format!(
                    "{entry:?} is not a media type like \"text/html\" or \"text/*\""
                ));
            }
            if !parsed.contains(&normal) {
                parsed.push(normal);
            }
        }
        Ok(MediaTypes { entries: parsed })
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    pub fn matches(&self, essence: &str) -> bool {
        let kind = essence.split('/').next().unwrap_or("");
        self.entries
            .iter()
            .any(|entry| match entry.strip_suffix("/*") {
                Some("*") => true,
                Some(wild_kind) => wild_kind == kind,
                None => entry == essence,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        type Expected<'a> = Option<(&'a str, Option<&'a str>)>;
        let cases: [(&str, Expected); 7] = [
            ("text/html", Some(("text/html", None))),
            (
                "Text/HTML; Charset=\"UTF-8\"",
                Some(("text/html", Some("utf-8"))),
            ),
            (
                "text/plain;charset=latin-1;format=flowed",
                Some(("text/plain", Some("latin-1"))),
            ),
            ("application/json; q=1", Some(("application/json", None))),
            ("text", None),
            ("/html", None),
            ("", None),
        ];
        for (value, expected) in cases {
            let got = ContentType::parse(value);
            let got = got
                .as_ref()
                .map(|ct| (ct.essence.as_str(), ct.charset.as_deref()));
            assert_eq!(got, expected, "{value:?}");
        }
    }

    #[test]
    fn matching_table() {
        let types = MediaTypes::new(["text/html", "application/*"]).unwrap();
        for (essence, expected) in [
            ("text/html", true),
            ("text/plain", false),
            ("application/json", true),
            ("image/png", false),
        ] {
            assert_eq!(types.matches(essence), expected, "{essence}");
        }
        assert!(MediaTypes::new(["*/*"]).unwrap().matches("image/png"));
    }

    #[test]
    fn invalid_entries_are_rejected() {
        for bad in [
            "html",
            "text/",
            "/x",
            "*/html",
            "text/html; charset=utf-8",
            "a/b/c",
        ] {
            assert!(MediaTypes::new([bad]).is_err(), "{bad}");
        }
    }
}
