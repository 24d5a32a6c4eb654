//! Unit tests for `index.rs`, on a temporary tree.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;

use super::*;

fn tree() -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "wsgi_mw_index_{}_{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("css/deep")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join("css/site.css"), "body{}").unwrap();
    fs::write(root.join("css/site.css.br"), "br").unwrap();
    fs::write(root.join("css/site.css.gz"), "gz").unwrap();
    fs::write(root.join("css/deep/app.3f2a9b1c.js"), "x").unwrap();
    fs::write(root.join(".env"), "SECRET=1").unwrap();
    fs::write(root.join(".git/config"), "x").unwrap();
    fs::write(root.join("logo.png"), [0u8; 10]).unwrap();
    // A link back up: scanned once, not forever.
    #[cfg(unix)]
    symlink(&root, root.join("css/loop")).unwrap();
    root
}

#[test]
fn a_scan_finds_files_siblings_and_hashed_names_and_skips_dotfiles() {
    let root = tree();
    let index = Index::scan(&root, &[], 0);
    let css = index.get(b"css/site.css", 0).map(|(e, _)| e).unwrap();
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    assert_eq!(css.file.size, 6);
    assert!(!css.immutable);
    let codings: Vec<Coding> = css.siblings.iter().map(|(c, _)| *c).collect();
    assert_eq!(codings, vec![Coding::Br, Coding::Gzip]);
    assert!(
        index
            .get(b"css/deep/app.3f2a9b1c.js", 0)
            .map(|(e, _)| e)
            .unwrap()
            .immutable
    );
    assert_eq!(
        index
            .get(b"logo.png", 0)
            .map(|(e, _)| e)
            .unwrap()
            .content_type,
        "image/png"
    );
    // The siblings are files of their own too.
    assert!(index.get(b"css/site.css.gz", 0).map(|(e, _)| e).is_some());
    assert!(index.get(b".env", 0).map(|(e, _)| e).is_none());
    assert!(index.get(b".git/config", 0).map(|(e, _)| e).is_none());
    // The loop's directory was already scanned under its real path.
    assert!(index.get(b"css/loop/logo.png", 0).map(|(e, _)| e).is_none());
    assert_eq!(index.len(), 5);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn entries_are_looked_up_one_by_one_too() {
    let root = tree();
    let found = entry(root.join("css/site.css"), &[]).unwrap();
    assert_eq!(
        Some(Arc::new(found)),
        Index::scan(&root, &[], 0)
            .get(b"css/site.css", 0)
            .map(|(e, _)| e)
    );
    assert!(entry(root.join("css"), &[]).is_none());
    assert!(entry(root.join("missing.css"), &[]).is_none());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_entry_is_rechecked_once_a_second_and_follows_the_file() {
    let root = tree();
    let index = Index::scan(&root, &[], 1_000);
    let (css, due) = index.get(b"css/site.css", 1_500).unwrap();
    assert!(!due);
    let (_, due) = index.get(b"css/site.css", 2_000).unwrap();
    assert!(due, "a second after the scan");
    let (_, due) = index.get(b"css/site.css", 2_100).unwrap();
    assert!(!due, "one request rechecks, the next ones trust it again");
    // Unchanged: the same entry.
    assert!(Arc::ptr_eq(
        &index.recheck(b"css/site.css", &css, &[], 2_100).unwrap(),
        &css
    ));
    // Changed: a new entry, in the index too.
    fs::write(root.join("css/site.css"), b"longer body").unwrap();
    let fresh = index.recheck(b"css/site.css", &css, &[], 2_200).unwrap();
    assert_eq!(fresh.file.size, 11);
    assert_eq!(index.get(b"css/site.css", 2_300).unwrap().0.file.size, 11);
    // Gone: out of the index.
    fs::remove_file(root.join("css/site.css")).unwrap();
    assert!(index.recheck(b"css/site.css", &fresh, &[], 2_400).is_none());
    assert!(index.get(b"css/site.css", 2_500).is_none());
    fs::remove_dir_all(&root).unwrap();
}
