//! The shared store on Redis: entries as [`Record`] bytes under SHA-256 digests of their keys,
//! a set per path and per tag to find them again, locks for single-flight across processes,
//! and the outage state that makes the cache fail open.
//!
//! Pure (no pyo3): the caller releases the GIL around every method here, since each one may
//! wait on the network, bounded by `timeout` (connect and every command).
//!
//! Keys under the prefix (`d` is a hex SHA-256 digest):
//! - `e:<d(key)>`: an entry (a response, or under a URI key the Vary record of its variants);
//! - `p:<d(path)>`: a set of the entries stored for SCRIPT_NAME + PATH_INFO, each member
//!   `d(key) d(uri) host` (64 + 64 hex characters, then the lowercase host), for purges by
//!   path and host and for invalidation after unsafe methods;
//! - `t:<d(tag)>`: a set of the `d(key)` of the entries carrying the tag;
//! - `l:<d(key)>`: the single-flight lock of a key, a random token, `SET NX PX`.
//!
//! Every key expires: entries when they stop being servable (stale windows included), index
//! sets no earlier than their longest-lived member, locks after the flight timeout.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use redis::{Client, Connection, RedisError, RedisResult};
use sha2::{Digest, Sha256};

/// Idle connections kept for reuse; more concurrent requests open more, closed after use.
const IDLE_CONNECTIONS: usize = 16;
/// The first pause after an outage begins; doubled at each failed retry, up to the longest.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const LONGEST_BACKOFF: Duration = Duration::from_secs(30);
/// The longest a key is kept (ms): ten years. Redis refuses expiry times past its clock's
/// range, and a lifetime an origin declares may be any number of seconds.
const MAX_KEEP_MS: u64 = 10 * 365 * 24 * 3600 * 1000;
/// Keys deleted per DEL while clearing or purging.
const DELETE_BATCH: usize = 500;

/// Deletes the lock if it still holds our token (a lock that expired and was taken by
/// another leader is not ours to release).
const UNLOCK: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// GET the entry; when it is missing, take the flight lock (SET NX PX). Returns
/// `{1, value}`, `{2, nil}` (locked for us) or `{3, nil}` (missing, the lock held by another).
const GET_OR_LOCK: &str = "local v = redis.call('get', KEYS[1]) \
    if v then return {1, v} end \
    if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, false} end \
    return {3, false}";

/// What `get_or_lock` found.
pub enum Looked {
    Found(Vec<u8>),
    /// Nothing stored, and this request now holds the flight lock.
    Locked,
    /// Nothing stored (another request may hold the lock).
    Missing,
}

/// A hex SHA-256 digest.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in hash {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Why a store operation did not happen.
#[derive(Debug)]
pub enum Failure {
    /// The store is in an outage (backing off): nothing was sent.
    Down,
    /// The operation failed. `first` is set for the failure that began an outage (one line
    /// per outage), and for the first failure of this store that was not one.
    Failed {
        first: bool,
        /// Unreachable or too slow (backing off now), rather than an unexpected reply.
        outage: bool,
        message: String,
    },
}

struct Health {
    /// No request is sent before this while the store is out.
    down_until: Option<Instant>,
    backoff: Duration,
}

/// One entry to write, with where to index it.
pub struct Put<'a> {
    pub key: &'a [u8],
    pub uri: &'a [u8],
    /// SCRIPT_NAME + PATH_INFO and the lowercase host of the request.
    pub path: &'a [u8],
    pub host: &'a [u8],
    pub record: Vec<u8>,
    /// The Vary record for the URI key, when the response varies.
    pub vary_record: Option<Vec<u8>>,
    pub tags: &'a [String],
    /// How long Redis keeps it (servable time: freshness plus stale windows).
    pub keep_ms: u64,
    /// The flight lock this request holds on the key, released in the same round trip.
    pub unlock: Option<&'a str>,
}

pub struct RedisStore {
    client: Client,
    prefix: Vec<u8>,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    health: Mutex<Health>,
    errors: AtomicU64,
    /// A failure that is not an outage (a reply we did not expect) was reported once.
    odd_reported: AtomicBool,
}

impl RedisStore {
    /// The store at `url` (`redis://`, `rediss://`, `unix://`): parsed, never connected here.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let client = Client::open(url).map_err(|err| err.to_string())?;
        Ok(RedisStore {
            client,
            prefix: prefix.as_bytes().to_vec(),
            timeout,
            idle: Mutex::new(Vec::new()),
            health: Mutex::new(Health {
                down_until: None,
                backoff: FIRST_BACKOFF,
            }),
            errors: AtomicU64::new(0),
            odd_reported: AtomicBool::new(false),
        })
    }

    /// Failed operations since construction.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn name(&self, kind: &str, digest: &str) -> Vec<u8> {
        let mut name = Vec::with_capacity(self.prefix.len() + 2 + digest.len());
        name.extend_from_slice(&self.prefix);
        name.extend_from_slice(kind.as_bytes());
        name.extend_from_slice(digest.as_bytes());
        name
    }

    fn connect(&self) -> RedisResult<Connection> {
        let conn = self.client.get_connection_with_timeout(self.timeout)?;
        conn.set_read_timeout(Some(self.timeout))?;
        conn.set_write_timeout(Some(self.timeout))?;
        Ok(conn)
    }

    /// Run `op` on a pooled connection, with the outage bookkeeping. A connection that
    /// failed is dropped, never reused (its replies may be out of step).
    fn run<T>(&self, op: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T, Failure> {
        if let Some(until) = self.health.lock().down_until {
            if Instant::now() < until {
                return Err(Failure::Down);
            }
        }
        let pooled = self.idle.lock().pop();
        let result = match pooled {
            Some(mut conn) => op(&mut conn).map(|value| (value, conn)),
            None => self
                .connect()
                .and_then(|mut conn| op(&mut conn).map(|value| (value, conn))),
        };
        match result {
            Ok((value, conn)) => {
                {
                    let mut health = self.health.lock();
                    health.down_until = None;
                    health.backoff = FIRST_BACKOFF;
                }
                let mut idle = self.idle.lock();
                if idle.len() < IDLE_CONNECTIONS {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(err) => Err(self.failed(&err)),
        }
    }

    fn failed(&self, err: &RedisError) -> Failure {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let outage = err.is_io_error()
            || err.is_timeout()
            || err.is_connection_dropped()
            || err.is_connection_refusal();
        let first = if outage {
            let mut health = self.health.lock();
            let first = health.down_until.is_none();
            health.down_until = Some(Instant::now() + health.backoff);
            health.backoff = (health.backoff * 2).min(LONGEST_BACKOFF);
            first
        } else {
            // Not an outage (an unexpected reply): reported once, counted always.
            !self.odd_reported.swap(true, Ordering::Relaxed)
        };
        if first && outage {
            // Other connections of the pool went down with the server.
            self.idle.lock().clear();
        }
        Failure::Failed {
            first,
            outage,
            message: err.to_string(),
        }
    }

    /// The bytes stored under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        let name = self.name("e:", &digest(key));
        self.run(|conn| redis::cmd("GET").arg(&name).query(conn))
    }

    /// The bytes under two keys in one round trip (MGET): a URI's Vary record and the
    /// variant a request would have, when the process already knows the URI varies.
    pub fn get_pair(&self, first: &[u8], second: &[u8]) -> Result<[Option<Vec<u8>>; 2], Failure> {
        let names = [
            self.name("e:", &digest(first)),
            self.name("e:", &digest(second)),
        ];
        self.run(|conn| {
            let (a, b): (Option<Vec<u8>>, Option<Vec<u8>>) =
                redis::cmd("MGET").arg(&names[..]).query(conn)?;
            Ok([a, b])
        })
    }

    /// The bytes under `key`; when there are none and `lock` is given, also take the key's
    /// flight lock in the same round trip (a miss that will lead its flight).
    pub fn get_or_lock(
        &self,
        key: &[u8],
        lock: Option<(&str, Duration)>,
    ) -> Result<Looked, Failure> {
        let Some((token, hold)) = lock else {
            return self.get(key).map(|found| match found {
                Some(bytes) => Looked::Found(bytes),
                None => Looked::Missing,
            });
        };
        let key = digest(key);
        let ms = px(hold);
        self.run(|conn| {
            let (found, value): (u8, Option<Vec<u8>>) = redis::cmd("EVAL")
                .arg(GET_OR_LOCK)
                .arg(2)
                .arg(self.name("e:", &key))
                .arg(self.name("l:", &key))
                .arg(token)
                .arg(ms)
                .query(conn)?;
            Ok(match (found, value) {
                (1, Some(bytes)) => Looked::Found(bytes),
                (2, _) => Looked::Locked,
                _ => Looked::Missing,
            })
        })
    }

    /// Write an entry, its Vary record and its index memberships, in one transaction.
    pub fn put(&self, put: &Put<'_>) -> Result<(), Failure> {
        let key = digest(put.key);
        let uri = digest(put.uri);
        let keep = put.keep_ms.clamp(1, MAX_KEEP_MS);
        let keep_s = keep.div_ceil(1000);
        let mut member = Vec::with_capacity(128 + put.host.len());
        member.extend_from_slice(key.as_bytes());
        member.extend_from_slice(uri.as_bytes());
        member.extend_from_slice(put.host);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET")
            .arg(self.name("e:", &key))
            .arg(&put.record)
            .arg("PX")
            .arg(keep)
            .ignore();
        if let Some(vary) = &put.vary_record {
            pipe.cmd("SET")
                .arg(self.name("e:", &uri))
                .arg(vary)
                .arg("PX")
                .arg(keep)
                .ignore();
        }
        let mut index = |name: Vec<u8>, member: &[u8]| {
            pipe.cmd("SADD").arg(&name).arg(member).ignore();
            // A new set gets the entry's lifetime; an older one keeps the longer of the two.
            pipe.cmd("EXPIRE").arg(&name).arg(keep_s).arg("NX").ignore();
            pipe.cmd("EXPIRE").arg(&name).arg(keep_s).arg("GT").ignore();
        };
        index(self.name("p:", &digest(put.path)), &member);
        for tag in put.tags {
            index(self.name("t:", &digest(tag.as_bytes())), key.as_bytes());
        }
        if let Some(token) = put.unlock {
            // Last in the transaction: a waiter that sees the lock gone finds the entry.
            pipe.cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(self.name("l:", &key))
                .arg(token)
                .ignore();
        }
        self.run(|conn| pipe.query::<()>(conn))
    }

    /// Delete the entries of `path` that `selects(key digest, uri digest, host)`;
    /// the number of entries deleted. Their Vary records go with them.
    pub fn purge_path(
        &self,
        path: &[u8],
        selects: impl Fn(&str, &str, &[u8]) -> bool,
    ) -> Result<usize, Failure> {
        let index = self.name("p:", &digest(path));
        self.run(|conn| {
            let members: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&index).query(conn)?;
            let mut chosen = Vec::new();
            let mut responses = Vec::new();
            // A varying URI's Vary record, under the URI digest (a URI that does not vary
            // has its response there: key digest and URI digest are then the same).
            let mut records = std::collections::BTreeSet::new();
            for member in members {
                let (Some(key), Some(uri), Some(host)) = (
                    member.get(..64).and_then(|k| std::str::from_utf8(k).ok()),
                    member
                        .get(64..128)
                        .and_then(|u| std::str::from_utf8(u).ok()),
                    member.get(128..),
                ) else {
                    continue;
                };
                if selects(key, uri, host) {
                    responses.push(self.name("e:", key));
                    if key != uri {
                        records.insert(self.name("e:", uri));
                    }
                    chosen.push(member.clone());
                }
            }
            let mut deleted = 0usize;
            for batch in responses.chunks(DELETE_BATCH) {
                let removed: usize = redis::cmd("DEL").arg(batch).query(conn)?;
                deleted += removed;
            }
            let records: Vec<Vec<u8>> = records.into_iter().collect();
            for batch in records.chunks(DELETE_BATCH) {
                redis::cmd("DEL").arg(batch).query::<()>(conn)?;
            }
            for batch in chosen.chunks(DELETE_BATCH) {
                redis::cmd("SREM")
                    .arg(&index)
                    .arg(batch)
                    .query::<()>(conn)?;
            }
            Ok(deleted)
        })
    }

    /// Delete every entry carrying `tag`; the number deleted.
    pub fn purge_tag(&self, tag: &str) -> Result<usize, Failure> {
        let index = self.name("t:", &digest(tag.as_bytes()));
        self.run(|conn| {
            let members: Vec<String> = redis::cmd("SMEMBERS").arg(&index).query(conn)?;
            let mut deleted = 0usize;
            for batch in members.chunks(DELETE_BATCH) {
                let names: Vec<Vec<u8>> = batch.iter().map(|key| self.name("e:", key)).collect();
                let removed: usize = redis::cmd("DEL").arg(&names).query(conn)?;
                deleted += removed;
            }
            redis::cmd("DEL").arg(&index).query::<()>(conn)?;
            Ok(deleted)
        })
    }

    /// Delete every key under the prefix, found with SCAN (never KEYS or FLUSHDB); the
    /// number of keys deleted.
    pub fn clear(&self) -> Result<usize, Failure> {
        let pattern = glob_escape(&self.prefix);
        self.run(|conn| {
            let mut cursor: u64 = 0;
            let mut deleted = 0usize;
            loop {
                let (next, names): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(conn)?;
                if !names.is_empty() {
                    let removed: usize = redis::cmd("UNLINK").arg(&names).query(conn)?;
                    deleted += removed;
                }
                if next == 0 {
                    return Ok(deleted);
                }
                cursor = next;
            }
        })
    }

    /// Take the flight lock of `key` for `hold`: true when this process now leads.
    pub fn lock(&self, key: &[u8], token: &str, hold: Duration) -> Result<bool, Failure> {
        let name = self.name("l:", &digest(key));
        let ms = px(hold);
        self.run(|conn| {
            let set: Option<String> = redis::cmd("SET")
                .arg(&name)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query(conn)?;
            Ok(set.is_some())
        })
    }

    /// Whether another process still holds the flight lock of `key`.
    pub fn locked(&self, key: &[u8]) -> Result<bool, Failure> {
        let name = self.name("l:", &digest(key));
        self.run(|conn| redis::cmd("EXISTS").arg(&name).query(conn))
    }

    /// Release the lock if it is still ours (compare-and-delete).
    pub fn unlock(&self, key: &[u8], token: &str) -> Result<(), Failure> {
        let name = self.name("l:", &digest(key));
        self.run(|conn| {
            redis::cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(&name)
                .arg(token)
                .query::<()>(conn)
        })
    }
}

/// Wait, polling, until no process holds the flight lock of `key` or `timeout` passed (a
/// leader that died lets its lock expire by then). Call it with the GIL released.
pub fn wait_for_lock(store: &RedisStore, key: &[u8], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    while Instant::now() < deadline {
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        match store.locked(key) {
            Ok(true) => pause = (pause * 2).min(Duration::from_millis(50)),
            // Released, or the store is out (the caller finds that out on its next look).
            Ok(false) | Err(_) => return,
        }
    }
}

/// A lock's hold as `PX` milliseconds (at least 1).
fn px(hold: Duration) -> u64 {
    u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `prefix*` as a SCAN pattern matching the prefix literally.
fn glob_escape(prefix: &[u8]) -> Vec<u8> {
    let mut pattern = Vec::with_capacity(prefix.len() + 1);
    for &byte in prefix {
        if matches!(byte, b'*' | b'?' | b'[' | b']' | b'\\') {
            pattern.push(b'\\');
        }
        pattern.push(byte);
    }
    pattern.push(b'*');
    pattern
}

/// A token no other lock holder has: the process, a counter, the time.
pub fn lock_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    digest(format!("{}:{count}:{nanos}", std::process::id()).as_bytes())
}

#[cfg(test)]
#[path = "redis_store_tests.rs"]
mod tests;
