//! Unit tests for `lookup.rs`.

use std::path::PathBuf;

use super::*;
use crate::staticfiles::index::{Identity, Variant};

fn entry() -> Arc<FileEntry> {
    Arc::new(FileEntry {
        file: Variant::new(PathBuf::from("/x"), 1, 0, Identity::default()),
        content_type: "text/html".to_owned(),
        immutable: false,
        siblings: Vec::new(),
    })
}

fn on_disk(names: &'static [&'static str]) -> impl FnMut(&[u8]) -> Option<Arc<FileEntry>> {
    move |key: &[u8]| names.iter().any(|n| n.as_bytes() == key).then(entry)
}

#[test]
fn index_files_and_their_redirects() {
    let files: &[&str] = &[
        "docs/index.html",
        "index.html",
        "a.css",
        "caf\u{e9}/index.html",
    ];
    let found = |path: &str, index_file| find(path.as_bytes(), index_file, on_disk(files));
    assert!(matches!(found("docs/", true), Some(Found::File(k, _)) if k == b"docs/index.html"));
    assert!(matches!(found("", true), Some(Found::File(k, _)) if k == b"index.html"));
    assert_eq!(
        found("docs", true),
        Some(Found::Redirect("docs/".to_owned()))
    );
    assert_eq!(
        found("docs/index.html", true),
        Some(Found::Redirect("./".to_owned()))
    );
    assert!(matches!(found("a.css", true), Some(Found::File(..))));
    assert_eq!(found("nope", true), None);
    assert_eq!(found("docs/", false), None);
    assert_eq!(found("docs", false), None);
    assert!(matches!(
        found("docs/index.html", false),
        Some(Found::File(..))
    ));
}

#[test]
fn redirects_escape_the_request_bytes_once() {
    // "café" as a server passes it: its UTF-8 bytes.
    assert_eq!(quote("caf\u{e9}".as_bytes()), "caf%C3%A9");
    assert_eq!(quote(b"a:b"), "a%3Ab");
    assert_eq!(quote(b"a b?#"), "a%20b%3F%23");
    assert_eq!(quote(b"ok-._~"), "ok-._~");
}

#[test]
fn paths_as_request_bytes() {
    assert_eq!(
        latin1("/static/a.css").as_deref(),
        Some(&b"/static/a.css"[..])
    );
    assert_eq!(
        latin1("/caf\u{c3}\u{a9}").as_deref(),
        Some(&b"/caf\xc3\xa9"[..])
    );
    assert_eq!(latin1("/\u{101}"), None);
    let path = latin1("/st\u{c3}\u{a9}/x").unwrap();
    assert_eq!(
        after_prefix(path, "/st\u{e9}/".as_bytes()).as_deref(),
        Some(&b"x"[..])
    );
    assert_eq!(after_prefix(Cow::Borrowed(b"/other/x"), b"/static/"), None);
}

#[test]
fn join_stays_under_the_root() {
    let root = Path::new("/srv/static");
    assert_eq!(
        join(root, b"css/a.css"),
        Some(PathBuf::from("/srv/static/css/a.css"))
    );
    for refused in [
        &b"../x"[..],
        b"/etc/passwd",
        b"a//b",
        b"a/./b",
        b".env",
        b"a\\b",
        b"a\0b",
    ] {
        assert_eq!(
            join(root, refused),
            None,
            "{:?}",
            String::from_utf8_lossy(refused)
        );
    }
}
