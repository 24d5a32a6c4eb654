//! The files `Static` serves: found by one scan of the root at start-up, or looked up on
//! each request (`autorefresh`). Pure (std::fs, no pyo3).
//!
//! A file is indexed under its path relative to the root, as bytes (`css/site.css`), with
//! what its responses need: size, modification time, ETag, Content-Type, whether its name
//! is hashed (immutable), and its precompressed siblings (`site.css.zst`, `.br`, `.gz`).
//! Dotfiles and dot-directories are skipped. Symbolic links are followed (Django's
//! `collectstatic --link` makes them): what the operator put under the root is served. A
//! directory reached twice (a link loop) is scanned once.
//!
//! An entry is trusted for [`RECHECK_MS`] after it was last read from the file system, as
//! nginx's `open_file_cache_valid` trusts its cache: [`Index::get`] says when it is due,
//! and [`Index::recheck`] reads it again (a changed file gets a new entry, a removed one
//! leaves the index). Between checks a request costs no system call for its head.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use parking_lot::RwLock;

use super::mime::{content_type, etag};
use super::path::is_hashed_name;
use crate::http::accept_encoding::Coding;
use crate::http::http_date::format_http_date;

/// The sibling suffixes, by coding.
pub const SIBLINGS: [(Coding, &str); 3] = [
    (Coding::Zstd, ".zst"),
    (Coding::Br, ".br"),
    (Coding::Gzip, ".gz"),
];

/// One servable file (or one precompressed sibling of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub path: PathBuf,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub etag: String,
    /// `mtime` as an HTTP date, made once.
    pub last_modified: String,
}

impl Variant {
    pub fn new(path: PathBuf, size: u64, mtime: i64) -> Variant {
        Variant {
            etag: etag(mtime, size),
            last_modified: format_http_date(mtime),
            size,
            mtime,
            path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub file: Variant,
    pub content_type: String,
    /// `name.<hex>.ext`: cached for a year, immutable.
    pub immutable: bool,
    /// The precompressed siblings present, in `SIBLINGS` order.
    pub siblings: Vec<(Coding, Variant)>,
}

fn variant(path: PathBuf) -> Option<Variant> {
    let meta = fs::metadata(&path).ok()?;
    variant_of(path, &meta)
}

/// The variant at `path` from its metadata (None when it is not a regular file).
fn variant_of(path: PathBuf, meta: &fs::Metadata) -> Option<Variant> {
    if !meta.is_file() {
        return None;
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Some(Variant::new(path, meta.len(), mtime))
}

/// The entry of the file at `path` (already checked to be under the root), or None when it
/// is not a regular file.
pub fn entry(path: PathBuf, extra_types: &[(String, String)]) -> Option<FileEntry> {
    let file = variant(path)?;
    Some(entry_of(file, extra_types, variant))
}

/// The entry of `file`, its siblings found by `sibling` (a stat, or the scan's listing).
fn entry_of(
    file: Variant,
    extra_types: &[(String, String)],
    sibling: impl Fn(PathBuf) -> Option<Variant>,
) -> FileEntry {
    let name = file
        .path
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let siblings = SIBLINGS
        .iter()
        .filter_map(|(coding, suffix)| {
            let mut path = file.path.clone().into_os_string();
            path.push(suffix);
            sibling(PathBuf::from(path)).map(|v| (*coding, v))
        })
        .collect();
    FileEntry {
        content_type: content_type(&name, extra_types),
        immutable: is_hashed_name(&name),
        siblings,
        file,
    }
}

/// How long an entry is trusted before the file is looked at again, in milliseconds.
pub const RECHECK_MS: i64 = 1000;

/// One indexed file and when it was last read from the file system.
#[derive(Debug)]
struct Slot {
    entry: Arc<FileEntry>,
    checked_ms: AtomicI64,
}

impl Slot {
    fn new(entry: Arc<FileEntry>, now_ms: i64) -> Slot {
        Slot {
            entry,
            checked_ms: AtomicI64::new(now_ms),
        }
    }
}

/// The files of one root, by relative path.
#[derive(Debug, Default)]
pub struct Index {
    files: RwLock<HashMap<Vec<u8>, Slot>>,
}

impl Index {
    /// One scan of `root`: every regular file not under a dot-name.
    pub fn scan(root: &Path, extra_types: &[(String, String)], now_ms: i64) -> Index {
        let mut files = HashMap::new();
        let mut seen_dirs = HashSet::new();
        let mut pending = vec![(root.to_path_buf(), Vec::new())];
        while let Some((dir, prefix)) = pending.pop() {
            let Ok(real) = fs::canonicalize(&dir) else {
                continue;
            };
            if !seen_dirs.insert(real) {
                continue;
            }
            let Ok(read) = fs::read_dir(&dir) else {
                continue;
            };
            // One stat per name (links followed); siblings are found in this listing,
            // not by three more stats per file.
            let mut listed: HashMap<PathBuf, (Vec<u8>, fs::Metadata)> = HashMap::new();
            for item in read.flatten() {
                let name = item.file_name();
                let name = name.as_encoded_bytes();
                if name.first() == Some(&b'.') {
                    continue;
                }
                let path = item.path();
                if let Ok(meta) = fs::metadata(&path) {
                    listed.insert(path, (name.to_vec(), meta));
                }
            }
            for (path, (name, meta)) in &listed {
                let mut relative = prefix.clone();
                if !relative.is_empty() {
                    relative.push(b'/');
                }
                relative.extend_from_slice(name);
                if meta.is_dir() {
                    pending.push((path.clone(), relative));
                    continue;
                }
                let Some(file) = variant_of(path.clone(), meta) else {
                    continue;
                };
                let found = entry_of(file, extra_types, |sibling| {
                    let (_, meta) = listed.get(&sibling)?;
                    variant_of(sibling, meta)
                });
                files.insert(relative, Slot::new(Arc::new(found), now_ms));
            }
        }
        Index {
            files: RwLock::new(files),
        }
    }

    /// The entry at `relative`, and whether it is due for [`Index::recheck`] at `now_ms`.
    pub fn get(&self, relative: &[u8], now_ms: i64) -> Option<(Arc<FileEntry>, bool)> {
        let files = self.files.read();
        let slot = files.get(relative)?;
        let checked = slot.checked_ms.load(Ordering::Relaxed);
        let due = now_ms.saturating_sub(checked) >= RECHECK_MS || now_ms < checked;
        if due {
            // One request rechecks; the others go on with the entry meanwhile.
            slot.checked_ms.store(now_ms, Ordering::Relaxed);
        }
        Some((slot.entry.clone(), due))
    }

    /// Read the file at `relative` again: the entry as it is now (replaced in the index
    /// when it changed), or None when it is gone (and removed).
    pub fn recheck(
        &self,
        relative: &[u8],
        current: &Arc<FileEntry>,
        extra_types: &[(String, String)],
        now_ms: i64,
    ) -> Option<Arc<FileEntry>> {
        let found = entry(current.file.path.clone(), extra_types);
        let mut files = self.files.write();
        match found {
            Some(found) if found == **current => Some(current.clone()),
            Some(found) => {
                let found = Arc::new(found);
                files.insert(relative.to_vec(), Slot::new(found.clone(), now_ms));
                Some(found)
            }
            None => {
                files.remove(relative);
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.files.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
