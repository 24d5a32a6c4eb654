//! The bytes of small files, kept after their first request (pure, generic over what holds
//! the bytes: a Python bytes object in `py.rs`). Keyed by the file's device and inode, so
//! the many paths that reach one file (links) hold one copy; valid only for the version
//! they were read from (size and [`Identity`]); bounded by a byte budget.

use std::collections::HashMap;
use std::path::PathBuf;

use super::index::{Identity, Variant};

struct Kept<T> {
    size: u64,
    identity: Identity,
    body: T,
}

/// The file's device and inode; where there are none (not Unix), its path.
type Key = (u64, u64, PathBuf);

pub struct Held<T> {
    kept: HashMap<Key, Kept<T>>,
    bytes: u64,
    budget: u64,
}

impl<T> Held<T> {
    pub fn new(budget: u64) -> Self {
        Held {
            kept: HashMap::new(),
            bytes: 0,
            budget,
        }
    }

    fn key(variant: &Variant) -> Key {
        let (dev, ino) = (variant.identity.dev, variant.identity.ino);
        if cfg!(unix) {
            (dev, ino, PathBuf::new())
        } else {
            (dev, ino, variant.path.clone())
        }
    }

    /// The bytes of `variant`, if held for this very version of it.
    pub fn get(&self, variant: &Variant) -> Option<&T> {
        let kept = self.kept.get(&Self::key(variant))?;
        (kept.size == variant.size && kept.identity == variant.identity).then_some(&kept.body)
    }

    /// Keep `body` for `variant` when the budget allows. Returns what it let go (the
    /// version it replaced, or `body` itself when it does not fit), for the caller to drop
    /// once its lock is released.
    pub fn keep(&mut self, variant: &Variant, body: T) -> Vec<T> {
        let mut gone = Vec::new();
        if let Some(old) = self.kept.remove(&Self::key(variant)) {
            self.bytes -= old.size;
            gone.push(old.body);
        }
        if self.bytes.saturating_add(variant.size) > self.budget {
            gone.push(body);
        } else {
            self.bytes += variant.size;
            self.kept.insert(
                Self::key(variant),
                Kept {
                    size: variant.size,
                    identity: variant.identity,
                    body,
                },
            );
        }
        gone
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
#[path = "held_tests.rs"]
mod tests;
