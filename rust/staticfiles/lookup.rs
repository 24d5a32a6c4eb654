//! Which answer a request path gets (pure): the part after the prefix as the request's
//! bytes, the file it names (an `index.html` for a directory with `index_file`), or the
//! redirect a directory's URL gets, and where a relative path is on disk.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::index::FileEntry;
use super::path::segments;

/// The index file `index_file=True` serves for a directory.
pub const INDEX_HTML: &[u8] = b"index.html";

/// What a path under the prefix names.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The file, and its path relative to the root (an index.html's own path).
    File(Vec<u8>, Arc<FileEntry>),
    /// A directory's URL without its slash, or its index.html: where to go instead
    /// (relative to the request's URL).
    Redirect(String),
}

/// PATH_INFO's code points as the request's bytes (PEP 3333: latin-1), borrowed when it
/// is ASCII; None when one is above U+00FF (no server sends that).
pub fn latin1(text: &str) -> Option<Cow<'_, [u8]>> {
    if text.is_ascii() {
        return Some(Cow::Borrowed(text.as_bytes()));
    }
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .map(Cow::Owned)
}

/// The request bytes after `prefix` (itself the UTF-8 of the configured prefix), if they
/// start with it.
pub fn after_prefix<'a>(path: Cow<'a, [u8]>, prefix: &[u8]) -> Option<Cow<'a, [u8]>> {
    match path {
        Cow::Borrowed(bytes) => bytes.strip_prefix(prefix).map(Cow::Borrowed),
        Cow::Owned(bytes) => bytes
            .strip_prefix(prefix)
            .map(|rest| Cow::Owned(rest.to_vec())),
    }
}

/// What `relative` names, `file` looking each candidate up (by its path relative to the
/// root). With `index_file`, `dir/` is `dir/index.html`, and `dir` and `dir/index.html`
/// redirect to `dir/` (as WhiteNoise does).
pub fn find(
    relative: &[u8],
    index_file: bool,
    mut file: impl FnMut(&[u8]) -> Option<Arc<FileEntry>>,
) -> Option<Found> {
    let mut found = |key: Vec<u8>| {
        let entry = file(&key)?;
        Some(Found::File(key, entry))
    };
    if relative.is_empty() || relative.ends_with(b"/") {
        if !index_file {
            return None;
        }
        return found([relative, INDEX_HTML].concat());
    }
    if !index_file {
        return found(relative.to_vec());
    }
    let name = relative.rsplit(|&b| b == b'/').next().unwrap_or(relative);
    if name == INDEX_HTML {
        return found(relative.to_vec()).map(|_| Found::Redirect("./".to_owned()));
    }
    if let Some(file) = found(relative.to_vec()) {
        return Some(file);
    }
    found([relative, b"/", INDEX_HTML].concat())
        .map(|_| Found::Redirect(format!("{}/", quote(name))))
}

/// A path segment (the request's bytes) for a relative Location header: bytes outside the
/// unreserved set and `!$&'()*+,;=@` are %-escaped, as a browser would send them. A `:` is
/// escaped too, so that `a:b/` is not read as a URL of scheme `a` (RFC 3986 §4.2).
pub fn quote(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &byte in name {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `relative` under `root` on disk, when every segment passes [`segments`] and stays one
/// plain path component (on Windows `C:` would replace the path: refused).
pub fn join(root: &Path, relative: &[u8]) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in segments(relative).ok()? {
        let part = os_str(part)?;
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(normal)), None) if normal == part => path.push(part),
            _ => return None,
        }
    }
    Some(path)
}

#[cfg(unix)]
fn os_str(bytes: &[u8]) -> Option<&OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn os_str(bytes: &[u8]) -> Option<&OsStr> {
    std::str::from_utf8(bytes).ok().map(OsStr::new)
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
