//! The files `Static` serves: found by one scan of the root at start-up, or looked up on
//! each request (`autorefresh`). Pure (std::fs, no pyo3).
//!
//! A file is indexed under its path relative to the root, as bytes (`css/site.css`), with
//! what its responses need: size, modification time, ETag, Content-Type, whether its name
//! is hashed (immutable), and its precompressed siblings (`site.css.zst`, `.br`, `.gz`).
//! Dotfiles and dot-directories are skipped. Symbolic links are followed (Django's
//! `collectstatic --link` makes them): what the operator put under the root is served. A
//! directory reached twice (a link loop) is scanned once. The scan stops with
//! [`TooManyFiles`] as soon as it finds more files than its bound: a root such as
//! `/proc/self` (its `root` link reaches `/`, and every `/proc/<pid>/root` again) would
//! otherwise be scanned for ever.
//!
//! An entry is trusted for [`RECHECK_MS`] after it was last read from the file system, as
//! nginx's `open_file_cache_valid` trusts its cache: [`Index::get`] says when it is due,
//! and [`Index::recheck`] reads it again (a changed file gets a new entry, a removed one
//! leaves the index). Between checks a request costs no system call for its head.

use std::collections::HashMap;
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

/// What tells one version of a file from another beyond its size and whole seconds: the
/// inode (a file replaced by rename, as deploys do) and the modification time's nanoseconds
/// and change time (a rewrite within the same second).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Identity {
    #[cfg(unix)]
    pub fn of(meta: &fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    pub fn of(meta: &fs::Metadata) -> Identity {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Identity {
            mtime_ns,
            ..Identity::default()
        }
    }
}

/// One servable file (or one precompressed sibling of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub path: PathBuf,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub identity: Identity,
    /// nginx's and WhiteNoise's: whole seconds and size (see `mime::etag`).
    pub etag: String,
    /// `mtime` as an HTTP date, made once.
    pub last_modified: String,
}

impl Variant {
    pub fn new(path: PathBuf, size: u64, mtime: i64, identity: Identity) -> Variant {
        Variant {
            etag: etag(mtime, size),
            last_modified: format_http_date(mtime),
            size,
            mtime,
            identity,
            path,
        }
    }

    /// Whether `meta` (of the same path) describes this version of the file.
    pub fn is(&self, meta: &fs::Metadata) -> bool {
        meta.len() == self.size && Identity::of(meta) == self.identity
    }
}

/// Whole seconds since the epoch of `meta`'s modification time (0 before the epoch).
fn mtime_of(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
    Some(Variant::new(
        path,
        meta.len(),
        mtime_of(meta),
        Identity::of(meta),
    ))
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

/// One indexed path, what it held when it was last read from the file system (`None`: it
/// was gone then, and is looked at again, like the others, once a second), and when.
#[derive(Debug)]
struct Slot {
    path: PathBuf,
    entry: Option<Arc<FileEntry>>,
    checked_ms: AtomicI64,
}

impl Slot {
    fn new(path: PathBuf, entry: Option<Arc<FileEntry>>, now_ms: i64) -> Slot {
        Slot {
            path,
            entry,
            checked_ms: AtomicI64::new(now_ms),
        }
    }
}

/// What the index says of a path.
pub enum Looked {
    /// Its entry, trusted.
    Trusted(Arc<FileEntry>),
    /// Due for [`Index::recheck`]: the file's path and what it held (None: it was gone).
    Due(PathBuf, Option<Arc<FileEntry>>),
}

/// What tells one directory from another, for the scan's loop check: its device and
/// inode, from the stat the scan made anyway. Its real path (a `readlink` per component
/// of a path that grows with each link) cost the scan of `/proc/self` a fifth of its time.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DirId(u64, u64);

#[cfg(unix)]
impl DirId {
    fn of(_path: &Path, meta: &fs::Metadata) -> Option<DirId> {
        use std::os::unix::fs::MetadataExt;
        Some(DirId(meta.dev(), meta.ino()))
    }
}

/// Without inodes in std, the directory's real path.
#[cfg(not(unix))]
#[derive(Debug, Clone, PartialEq, Eq)]
struct DirId(PathBuf);

#[cfg(not(unix))]
impl DirId {
    fn of(path: &Path, _meta: &fs::Metadata) -> Option<DirId> {
        fs::canonicalize(path).ok().map(DirId)
    }
}

/// A scan given up: the root holds more than `max_files` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyFiles {
    pub max_files: usize,
}

/// A directory the scan is yet to list.
struct Pending {
    dir: PathBuf,
    /// Its path relative to the root, as index keys start (`css`, or empty for the root).
    prefix: Vec<u8>,
    id: DirId,
    /// The identities of the directories above it, up to the root.
    ancestors: Arc<Vec<DirId>>,
}

/// The files of one root, by relative path.
#[derive(Debug, Default)]
pub struct Index {
    files: RwLock<HashMap<Vec<u8>, Slot>>,
}

impl Index {
    /// One scan of `root`: every regular file not under a dot-name, at most `max_depth`
    /// directories deep. A directory reached by two paths (a link to it) is indexed under
    /// both; one that is its own ancestor (a link loop) is not entered again. More than
    /// `max_files` files (each path counted, as [`Index::len`] counts them) is an error,
    /// returned at the first file past the bound, before the rest is scanned.
    pub fn scan(
        root: &Path,
        extra_types: &[(String, String)],
        now_ms: i64,
        max_depth: usize,
        max_files: usize,
    ) -> Result<Index, TooManyFiles> {
        let mut files = HashMap::new();
        let Some(root_id) = fs::metadata(root).ok().and_then(|m| DirId::of(root, &m)) else {
            return Ok(Index::default());
        };
        let mut pending = vec![Pending {
            dir: root.to_path_buf(),
            prefix: Vec::new(),
            id: root_id,
            ancestors: Arc::new(Vec::new()),
        }];
        while let Some(Pending {
            dir,
            prefix,
            id,
            ancestors,
        }) = pending.pop()
        {
            if ancestors.contains(&id) || ancestors.len() >= max_depth {
                continue;
            }
            let mut chain = Vec::with_capacity(ancestors.len() + 1);
            chain.extend(ancestors.iter().cloned());
            chain.push(id);
            let chain = Arc::new(chain);
            let Ok(read) = fs::read_dir(&dir) else {
                continue;
            };
            // One stat per name (links followed); siblings are found in this listing,
            // not by three more stats per file.
            let mut listed: HashMap<PathBuf, (Vec<u8>, fs::Metadata)> = HashMap::new();
            // Counted as they are listed, so that one huge directory is not listed whole
            // before the bound is seen to be passed.
            let mut listed_files = 0;
            for item in read.flatten() {
                let name = item.file_name();
                let name = name.as_encoded_bytes();
                if name.first() == Some(&b'.') {
                    continue;
                }
                let path = item.path();
                // Only a link needs its whole path walked again (to follow it); anything
                // else is stat'ed relative to the open directory, at the same cost at any
                // depth.
                let meta = match item.file_type() {
                    Ok(kind) if !kind.is_symlink() => item.metadata(),
                    _ => fs::metadata(&path),
                };
                if let Ok(meta) = meta {
                    if meta.is_file() {
                        listed_files += 1;
                        if files.len().saturating_add(listed_files) > max_files {
                            return Err(TooManyFiles { max_files });
                        }
                    }
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
                    if let Some(id) = DirId::of(path, meta) {
                        pending.push(Pending {
                            dir: path.clone(),
                            prefix: relative,
                            id,
                            ancestors: chain.clone(),
                        });
                    }
                    continue;
                }
                let Some(file) = variant_of(path.clone(), meta) else {
                    continue;
                };
                let found = entry_of(file, extra_types, |sibling| {
                    let (_, meta) = listed.get(&sibling)?;
                    variant_of(sibling, meta)
                });
                files.insert(
                    relative,
                    Slot::new(path.clone(), Some(Arc::new(found)), now_ms),
                );
            }
        }
        Ok(Index {
            files: RwLock::new(files),
        })
    }

    /// What the index holds at `relative` at `now_ms`: None when it never held it, or holds
    /// it as gone and it is not due for a look yet.
    pub fn get(&self, relative: &[u8], now_ms: i64) -> Option<Looked> {
        let files = self.files.read();
        let slot = files.get(relative)?;
        let checked = slot.checked_ms.load(Ordering::Relaxed);
        let due = now_ms.saturating_sub(checked) >= RECHECK_MS || now_ms < checked;
        if due {
            // One request rechecks; the others go on with the entry meanwhile.
            slot.checked_ms.store(now_ms, Ordering::Relaxed);
            return Some(Looked::Due(slot.path.clone(), slot.entry.clone()));
        }
        slot.entry.clone().map(Looked::Trusted)
    }

    /// Read the file at `relative` (at `path`) again: the entry as it is now, kept in the
    /// index (a changed file gets a new entry, a removed one is kept as gone and looked at
    /// again a second later, so a file deleted and copied back by a deploy comes back).
    pub fn recheck(
        &self,
        relative: &[u8],
        path: &Path,
        current: Option<&Arc<FileEntry>>,
        extra_types: &[(String, String)],
        now_ms: i64,
    ) -> Option<Arc<FileEntry>> {
        let found = entry(path.to_path_buf(), extra_types);
        match (found, current) {
            (Some(found), Some(current)) if found == **current => Some(current.clone()),
            (found, _) => {
                let found = found.map(Arc::new);
                let slot = Slot::new(path.to_path_buf(), found.clone(), now_ms);
                self.files.write().insert(relative.to_vec(), slot);
                found
            }
        }
    }

    /// The files the index holds now (not those it holds as gone).
    pub fn len(&self) -> usize {
        self.files
            .read()
            .values()
            .filter(|s| s.entry.is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
