//! Static's options checked and normalised: the prefix and the extra media types. Pure (no
//! pyo3): `py.rs` converts the Python values and raises these messages with the class and
//! parameter in front.

/// `prefix` normalised to `/.../` (`"/"` for the whole path space); an error when it could
/// never match a request path.
pub fn normal_prefix(text: &str) -> Result<String, String> {
    // A CDN's address (absolute, or protocol-relative `//host/...`) is where the files are
    // published, not what Static matches.
    let scheme = text.split_once("://").map(|(scheme, _)| scheme);
    let absolute = scheme.is_some_and(|scheme| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if absolute || (text.starts_with("//") && text.len() > 2) {
        return Err(
            "prefix is a URL path such as \"/static/\", not a URL: Static matches it against \
             the request's path (a CDN's address belongs in your templates' STATIC_URL)"
                .to_owned(),
        );
    }
    let inner = text.trim_matches('/');
    let bad = inner
        .chars()
        .find(|c| c.is_control() || matches!(c, '\\' | '?' | '#' | '%'));
    if let Some(bad) = bad {
        return Err(format!("prefix must not contain {bad:?}"));
    }
    if !inner.is_empty()
        && inner
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err("prefix must not have empty, \".\" or \"..\" segments".to_owned());
    }
    Ok(if inner.is_empty() {
        "/".to_owned()
    } else {
        format!("/{inner}/")
    })
}

/// One `mimetypes` entry: the extension (lowercase, without its dot) and the media type.
pub fn media_type_entry(ext: &str, media_type: &str) -> Result<(String, String), String> {
    let bare = ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase();
    if bare.is_empty() || bare.contains(['/', '\\', '.']) || bare.chars().any(char::is_control) {
        return Err(format!("{ext:?} is not a file extension (like \".webp\")"));
    }
    let valid_type = media_type
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.trim().is_empty())
        && media_type.chars().all(|c| c == ' ' || c.is_ascii_graphic());
    if !valid_type {
        return Err(format!(
            "{media_type:?} (for {ext:?}) is not a media type like \"image/webp\""
        ));
    }
    Ok((bare, media_type.to_owned()))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
