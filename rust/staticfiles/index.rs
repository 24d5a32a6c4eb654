//! The files `Static` serves: found by one scan of the root at start-up, or looked up on
//! each request (`autorefresh`). Pure (std::fs, no pyo3).
//!
//! A file is indexed under its path relative to the root, as bytes (`css/site.css`), with
//! what its responses need: size, modification time, ETag, Content-Type, whether its name
//! is hashed (immutable), and its precompressed siblings (`site.css.zst`, `.br`, `.gz`).
//! Dotfiles and dot-directories are skipped. Symbolic links are followed (Django's
//! `collectstatic --link` makes them): what the operator put under the root is served. A
//! directory reached twice (a link loop) is scanned once.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::mime::{content_type, etag};
use super::path::is_hashed_name;
use crate::http::accept_encoding::Coding;

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
    if !meta.is_file() {
        return None;
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Some(Variant {
        etag: etag(mtime, meta.len()),
        size: meta.len(),
        mtime,
        path,
    })
}

/// The entry of the file at `path` (already checked to be under the root), or None when it
/// is not a regular file.
pub fn entry(path: PathBuf, extra_types: &[(String, String)]) -> Option<FileEntry> {
    let name = path.file_name()?.as_encoded_bytes().to_vec();
    let file = variant(path)?;
    let siblings = SIBLINGS
        .iter()
        .filter_map(|(coding, suffix)| {
            let mut sibling = file.path.clone().into_os_string();
            sibling.push(suffix);
            variant(PathBuf::from(sibling)).map(|v| (*coding, v))
        })
        .collect();
    Some(FileEntry {
        content_type: content_type(&name, extra_types),
        immutable: is_hashed_name(&name),
        siblings,
        file,
    })
}

/// The files of one root, by relative path.
#[derive(Debug, Default)]
pub struct Index {
    files: HashMap<Vec<u8>, Arc<FileEntry>>,
}

impl Index {
    /// One scan of `root`: every regular file not under a dot-name.
    pub fn scan(root: &Path, extra_types: &[(String, String)]) -> Index {
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
            for item in read.flatten() {
                let name = item.file_name();
                let name = name.as_encoded_bytes();
                if name.first() == Some(&b'.') {
                    continue;
                }
                let mut relative = prefix.clone();
                if !relative.is_empty() {
                    relative.push(b'/');
                }
                relative.extend_from_slice(name);
                let path = item.path();
                // Follows links: a link to a directory is scanned as one.
                match fs::metadata(&path) {
                    Ok(meta) if meta.is_dir() => pending.push((path, relative)),
                    Ok(meta) if meta.is_file() => {
                        if let Some(found) = entry(path, extra_types) {
                            files.insert(relative, Arc::new(found));
                        }
                    }
                    _ => {}
                }
            }
        }
        Index { files }
    }

    pub fn get(&self, relative: &[u8]) -> Option<Arc<FileEntry>> {
        self.files.get(relative).cloned()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
