//! Unit tests for `index.rs`, on a temporary tree.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;

use super::*;

fn trusted(looked: Looked) -> Option<Arc<FileEntry>> {
    match looked {
        Looked::Trusted(entry) => Some(entry),
        Looked::Due(_, entry) => entry,
    }
}

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
    let index = Index::scan(&root, &[], 0, 32, usize::MAX).unwrap();
    let css = index.get(b"css/site.css", 0).and_then(trusted).unwrap();
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    assert_eq!(css.file.size, 6);
    assert!(!css.immutable);
    let codings: Vec<Coding> = css.siblings.iter().map(|(c, _)| *c).collect();
    assert_eq!(codings, vec![Coding::Br, Coding::Gzip]);
    assert!(
        index
            .get(b"css/deep/app.3f2a9b1c.js", 0)
            .and_then(trusted)
            .unwrap()
            .immutable
    );
    assert_eq!(
        index
            .get(b"logo.png", 0)
            .and_then(trusted)
            .unwrap()
            .content_type,
        "image/png"
    );
    // The siblings are files of their own too.
    assert!(index.get(b"css/site.css.gz", 0).and_then(trusted).is_some());
    assert!(index.get(b".env", 0).and_then(trusted).is_none());
    assert!(index.get(b".git/config", 0).and_then(trusted).is_none());
    // The loop's directory was already scanned under its real path.
    assert!(index
        .get(b"css/loop/logo.png", 0)
        .and_then(trusted)
        .is_none());
    assert_eq!(index.len(), 5);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn entries_are_looked_up_one_by_one_too() {
    let root = tree();
    let found = entry(root.join("css/site.css"), &[]).unwrap();
    assert_eq!(
        Some(Arc::new(found)),
        Index::scan(&root, &[], 0, 32, usize::MAX)
            .unwrap()
            .get(b"css/site.css", 0)
            .and_then(trusted)
    );
    assert!(entry(root.join("css"), &[]).is_none());
    assert!(entry(root.join("missing.css"), &[]).is_none());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_entry_is_rechecked_once_a_second_and_follows_the_file() {
    let root = tree();
    let index = Index::scan(&root, &[], 1_000, 32, usize::MAX).unwrap();
    let due = |at| matches!(index.get(b"css/site.css", at), Some(Looked::Due(..)));
    assert!(!due(1_500));
    assert!(due(2_000), "a second after the scan");
    assert!(
        !due(2_100),
        "one request rechecks, the next ones trust it again"
    );
    let css = index.get(b"css/site.css", 2_100).and_then(trusted).unwrap();
    let path = root.join("css/site.css");
    // Unchanged: the same entry.
    let same = index.recheck(b"css/site.css", &path, Some(&css), &[], 2_100);
    assert!(Arc::ptr_eq(&same.unwrap(), &css));
    // Changed, even to the same size within the same second: a new entry, in the index too.
    fs::write(&path, b"nopqrs").unwrap();
    let fresh = index
        .recheck(b"css/site.css", &path, Some(&css), &[], 2_200)
        .unwrap();
    assert_ne!(fresh.file.identity, css.file.identity);
    assert!(Arc::ptr_eq(
        &index.get(b"css/site.css", 2_300).and_then(trusted).unwrap(),
        &fresh
    ));
    // Gone: held as gone, looked at again a second later, and back when the file is.
    fs::remove_file(&path).unwrap();
    assert!(index
        .recheck(b"css/site.css", &path, Some(&fresh), &[], 2_400)
        .is_none());
    assert!(index.get(b"css/site.css", 2_500).is_none());
    assert_eq!(index.len(), 4);
    fs::write(&path, b"back").unwrap();
    let Some(Looked::Due(again, None)) = index.get(b"css/site.css", 3_400) else {
        panic!("a gone file is due a second later");
    };
    let back = index
        .recheck(b"css/site.css", &again, None, &[], 3_400)
        .unwrap();
    assert_eq!(back.file.size, 4);
    assert_eq!(index.len(), 5);
    fs::remove_dir_all(&root).unwrap();
}

#[cfg(unix)]
#[test]
fn a_directory_reached_by_two_links_is_indexed_under_both() {
    let root = tree();
    symlink(root.join("css"), root.join("latest")).unwrap();
    let index = Index::scan(&root, &[], 0, 32, usize::MAX).unwrap();
    assert!(index.get(b"css/site.css", 0).and_then(trusted).is_some());
    assert!(index.get(b"latest/site.css", 0).and_then(trusted).is_some());
    // The depth bound holds whatever the links.
    let shallow = Index::scan(&root, &[], 0, 1, usize::MAX).unwrap();
    assert!(shallow.get(b"logo.png", 0).and_then(trusted).is_some());
    assert!(shallow.get(b"css/site.css", 0).is_none());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_scan_past_max_files_is_given_up() {
    let root = tree();
    assert_eq!(Index::scan(&root, &[], 0, 32, 5).unwrap().len(), 5);
    assert_eq!(
        Index::scan(&root, &[], 0, 32, 4).unwrap_err(),
        TooManyFiles { max_files: 4 }
    );
    fs::remove_dir_all(&root).unwrap();
}

/// Levels `d0` to `d29`, each with one file and two links to the next level: `2**29`
/// paths reach the last file, no link is a loop, and every path is within 32 directories.
/// Scanned whole, it would never end (as `/proc/self` would not): the bound must stop it
/// at the first file past it.
#[cfg(unix)]
#[test]
fn the_bound_stops_a_scan_that_would_never_end() {
    let levels = std::env::temp_dir().join(format!("wsgi_mw_levels_{}", std::process::id()));
    let _ = fs::remove_dir_all(&levels);
    for level in 0..30 {
        let dir = levels.join(format!("d{level}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f.txt"), "x").unwrap();
        if level < 29 {
            let next = levels.join(format!("d{}", level + 1));
            symlink(&next, dir.join("a")).unwrap();
            symlink(&next, dir.join("b")).unwrap();
        }
    }
    assert_eq!(
        Index::scan(&levels.join("d0"), &[], 0, 32, 1000).unwrap_err(),
        TooManyFiles { max_files: 1000 }
    );
    fs::remove_dir_all(&levels).unwrap();
}
