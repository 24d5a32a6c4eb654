//! The shared store on Redis: entries as [`Record`] bytes under SHA-256 digests of their keys,
//! an index per path and per tag to find them again, locks for single-flight across
//! processes, and the outage state that makes the cache fail open.
//!
//! Pure (no pyo3): the caller releases the GIL around every method here, since each one may
//! wait on the network. A request spends at most `timeout` on the store in all, connecting
//! and every command together (its [`Budget`]); each batch of a purge gets a whole `timeout`.
//!
//! Keys under the prefix (`d` is a hex SHA-256 digest):
//! - `e:<d(key)>`: an entry (a response, or under a URI key the Vary record of its variants);
//! - `ip:<d(path)>`: a sorted set of the entries stored for SCRIPT_NAME + PATH_INFO, each
//!   member `d(key) d(uri) host` (64 + 64 hex characters, then the lowercase host), for
//!   purges by path and host and for invalidation after unsafe methods;
//! - `it:<d(tag)>`: a sorted set of the `d(key)` of the entries carrying the tag;
//! - `l:<d(key)>`: the single-flight lock of a key: a random token, `SET NX PX`, or
//!   [`PASS`] for a moment after a leader's response could not be stored.
//!
//! An index member's score is when its entry expires, in the Redis server's own clock (the
//! clock that expires the entry). Every write drops up to [`PRUNE_BATCH`] members whose
//! entries have expired, so an index holds about the live entries, whatever a client makes
//! the app store, and reading one is done in batches (ZSCAN), never one reply of unbounded
//! size. Every key expires: entries when they stop being servable (stale windows included),
//! indexes no earlier than their longest-lived member, locks after the flight timeout.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use redis::{Client, Connection, IntoConnectionInfo, RedisError, RedisResult, Script};
use sha2::{Digest, Sha256};

/// Idle connections kept for reuse; more concurrent requests open more, closed after use.
const IDLE_CONNECTIONS: usize = 16;
/// The first pause after an outage begins; doubled at each failed retry, up to the longest.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const LONGEST_BACKOFF: Duration = Duration::from_secs(30);
/// The longest a key is kept (ms): ten years. Redis refuses expiry times past its clock's
/// range, and a lifetime an origin declares may be any number of seconds.
pub const MAX_KEEP_MS: u64 = 10 * 365 * 24 * 3600 * 1000;
/// Keys deleted per DEL, and index members read per ZSCAN, while purging.
const DELETE_BATCH: usize = 500;
/// Index members Redis looks at per ZSCAN when it matches them against one URI's digest
/// (an invalidation): the reply holds only that URI's few entries, so a larger batch costs
/// the server about a millisecond and saves round trips.
const MATCH_BATCH: usize = 5000;
/// Expired members an index write drops at most: more than the one it adds, so an index
/// never keeps more than a batch of dead members, and a write's work stays bounded.
pub const PRUNE_BATCH: usize = 64;
/// The lock's value after its leader's response could not be stored: processes waiting on
/// the flight call the app at once instead of queueing behind one another (Varnish's
/// hit-for-miss), until it expires.
pub const PASS: &str = "pass";
/// How long [`PASS`] stays: long enough for every waiter to see it (they poll at least
/// every 50 ms), short enough that a response that becomes storable is soon coalesced again.
const PASS_MS: u64 = 1000;

/// Deletes the lock if it still holds our token (a lock that expired and was taken by
/// another leader is not ours to release).
const UNLOCK: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Turns our lock into [`PASS`] for ARGV[2] ms, if it still holds our token ARGV[1].
const PASS_LOCK: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then \
    return redis.call('set', KEYS[1], 'pass', 'PX', ARGV[2]) else return 0 end";

/// GET the entry; when it is missing, take the flight lock (SET NX PX). Returns
/// `{1, value}`, `{2, nil}` (locked for us) or `{3, nil}` (missing, the lock held by another).
const GET_OR_LOCK: &str = "local v = redis.call('get', KEYS[1]) \
    if v then return {1, v} end \
    if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, false} end \
    return {3, false}";

/// One write, atomic as any script is: the entry (KEYS[1], ARGV[1]) and, when ARGV[2] is not
/// empty, its URI's Vary record (KEYS[2]), both kept ARGV[3] ms; then the entry's member in
/// each index (KEYS[4]: the path's, member ARGV[4]; KEYS[5...]: the tags', member ARGV[5]),
/// scored by when the entry expires in the server's clock (an existing member keeps the
/// later of its two scores), after dropping at most ARGV[6] members whose entries have
/// expired; an index lives as long as its longest-lived member. Last, the flight lock
/// (KEYS[3]) is released if it holds our token ARGV[7]: a waiter that sees it gone finds the
/// entry.
const PUT: &str = "local keep = tonumber(ARGV[3]) \
    redis.call('set', KEYS[1], ARGV[1], 'PX', keep) \
    if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'PX', keep) end \
    local t = redis.call('time') \
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
    local prune = tonumber(ARGV[6]) \
    local function index(key, member) \
      local expired = redis.call('zcount', key, '-inf', now) \
      if expired > 0 then \
        redis.call('zremrangebyrank', key, 0, math.min(expired, prune) - 1) \
      end \
      redis.call('zadd', key, 'GT', now + keep, member) \
      if redis.call('pttl', key) < keep then redis.call('pexpire', key, keep) end \
    end \
    index(KEYS[4], ARGV[4]) \
    for i = 5, #KEYS do index(KEYS[i], ARGV[5]) end \
    if ARGV[7] ~= '' and redis.call('get', KEYS[3]) == ARGV[7] then \
      redis.call('del', KEYS[3]) \
    end \
    return 0";

/// What a request may still spend waiting on the store: it starts at `store_timeout` and
/// every command takes what it waited from it, connecting included. Waiting on purpose (for
/// another process's flight) is not taken from it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    left: Duration,
}

impl Budget {
    pub fn new(total: Duration) -> Self {
        Budget { left: total }
    }
}

/// Who holds the flight lock of a key, as a waiter polling it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// A leader holds it (still in time).
    Held,
    /// Its leader's response could not be stored: call the app.
    Pass,
    /// Nobody: the leader stored its response, failed, or outlived its lock.
    Free,
}

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

/// A pooled connection, with the read and write timeout its socket has now.
struct Pooled {
    conn: Connection,
    timeout: Duration,
}

impl Pooled {
    /// Give every read and write of the next commands at most `timeout` (a syscall each,
    /// only when it changes).
    fn limit(&mut self, timeout: Duration) -> RedisResult<()> {
        if timeout != self.timeout {
            self.conn.set_read_timeout(Some(timeout))?;
            self.conn.set_write_timeout(Some(timeout))?;
            self.timeout = timeout;
        }
        Ok(())
    }
}

pub struct RedisStore {
    client: Client,
    /// [`PUT`], sent as EVALSHA: the server neither receives nor hashes its text again.
    put_script: Script,
    prefix: Vec<u8>,
    timeout: Duration,
    idle: Mutex<Vec<Pooled>>,
    health: Mutex<Health>,
    errors: AtomicU64,
    /// A failure that is not an outage (a reply we did not expect) was reported once.
    odd_reported: AtomicBool,
}

/// The error of a request whose budget ran out before a command could be sent.
fn spent() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "store_timeout spent on earlier commands of this request",
    ))
}

impl RedisStore {
    /// The store at `url` (`redis://`, `rediss://`, `unix://`): parsed, never connected here.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let info = url.into_connection_info().map_err(|err| err.to_string())?;
        // No CLIENT SETINFO after connecting: one round trip less per connection, and
        // nothing but what the request asked for waits on a store that does not answer.
        let redis = info.redis_settings().clone().set_skip_set_lib_name();
        let client = Client::open(info.set_redis_settings(redis)).map_err(|err| err.to_string())?;
        Ok(RedisStore {
            client,
            put_script: Script::new(PUT),
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

    /// What one request, or one batch of a purge, may spend on the store.
    pub fn budget(&self) -> Budget {
        Budget::new(self.timeout)
    }

    /// Failed operations since construction.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn name(&self, kind: &str, digest: &str) -> Vec<u8> {
        let mut name = Vec::with_capacity(self.prefix.len() + 3 + digest.len());
        name.extend_from_slice(&self.prefix);
        name.extend_from_slice(kind.as_bytes());
        name.extend_from_slice(digest.as_bytes());
        name
    }

    /// A new connection within `limit`, connecting and the socket's timeouts included.
    fn connect(&self, limit: Duration, started: Instant) -> RedisResult<Pooled> {
        let conn = self.client.get_connection_with_timeout(limit)?;
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(spent());
        }
        conn.set_read_timeout(Some(left))?;
        conn.set_write_timeout(Some(left))?;
        Ok(Pooled {
            conn,
            timeout: left,
        })
    }

    /// Run `op` on a pooled connection within what `budget` has left, with the outage
    /// bookkeeping, and take the time it waited from the budget. A connection that failed is
    /// dropped, never reused (its replies may be out of step).
    fn run<T>(
        &self,
        budget: &mut Budget,
        op: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        if let Some(until) = self.health.lock().down_until {
            if Instant::now() < until {
                return Err(Failure::Down);
            }
        }
        let started = Instant::now();
        let limit = budget.left.min(self.timeout);
        let result = if limit.is_zero() {
            Err(spent())
        } else {
            let pooled = self.idle.lock().pop();
            match pooled {
                Some(mut pooled) => pooled.limit(limit).map(|()| pooled),
                None => self.connect(limit, started),
            }
            .and_then(|mut pooled| op(&mut pooled.conn).map(|value| (value, pooled)))
        };
        budget.left = budget.left.saturating_sub(started.elapsed());
        match result {
            Ok((value, pooled)) => {
                {
                    let mut health = self.health.lock();
                    health.down_until = None;
                    health.backoff = FIRST_BACKOFF;
                }
                let mut idle = self.idle.lock();
                if idle.len() < IDLE_CONNECTIONS {
                    idle.push(pooled);
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
    pub fn get(&self, budget: &mut Budget, key: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        let name = self.name("e:", &digest(key));
        self.run(budget, |conn| redis::cmd("GET").arg(&name).query(conn))
    }

    /// The bytes under two keys in one round trip (MGET): a URI's Vary record and the
    /// variant a request would have, when the process already knows the URI varies.
    pub fn get_pair(
        &self,
        budget: &mut Budget,
        first: &[u8],
        second: &[u8],
    ) -> Result<[Option<Vec<u8>>; 2], Failure> {
        let names = [
            self.name("e:", &digest(first)),
            self.name("e:", &digest(second)),
        ];
        self.run(budget, |conn| {
            let (a, b): (Option<Vec<u8>>, Option<Vec<u8>>) =
                redis::cmd("MGET").arg(&names[..]).query(conn)?;
            Ok([a, b])
        })
    }

    /// The bytes under `key`; when there are none and `lock` is given, also take the key's
    /// flight lock in the same round trip (a miss that will lead its flight).
    pub fn get_or_lock(
        &self,
        budget: &mut Budget,
        key: &[u8],
        lock: Option<(&str, Duration)>,
    ) -> Result<Looked, Failure> {
        let Some((token, hold)) = lock else {
            return self.get(budget, key).map(|found| match found {
                Some(bytes) => Looked::Found(bytes),
                None => Looked::Missing,
            });
        };
        let key = digest(key);
        let ms = px(hold);
        self.run(budget, |conn| {
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

    /// Write an entry, its Vary record and its index memberships, and release the flight
    /// lock: one script, so one round trip and atomic.
    pub fn put(&self, budget: &mut Budget, put: &Put<'_>) -> Result<(), Failure> {
        let key = digest(put.key);
        let uri = digest(put.uri);
        let keep = put.keep_ms.clamp(1, MAX_KEEP_MS);
        let mut member = Vec::with_capacity(128 + put.host.len());
        member.extend_from_slice(key.as_bytes());
        member.extend_from_slice(uri.as_bytes());
        member.extend_from_slice(put.host);
        let mut write = redis::cmd("EVALSHA");
        write
            .arg(self.put_script.get_hash())
            .arg(4 + put.tags.len())
            .arg(self.name("e:", &key))
            .arg(self.name("e:", &uri))
            .arg(self.name("l:", &key))
            .arg(self.name("ip:", &digest(put.path)));
        for tag in put.tags {
            write.arg(self.name("it:", &digest(tag.as_bytes())));
        }
        write
            .arg(&put.record)
            .arg(put.vary_record.as_deref().unwrap_or(b""))
            .arg(keep)
            .arg(&member)
            .arg(key.as_bytes())
            .arg(PRUNE_BATCH)
            .arg(put.unlock.unwrap_or(""));
        self.run(budget, |conn| match write.query::<()>(conn) {
            // The server does not have the script (a restart, SCRIPT FLUSH): load it and
            // write (a script that did not run wrote nothing).
            Err(err) if err.code() == Some("NOSCRIPT") => {
                self.put_script.load(conn)?;
                write.query::<()>(conn)
            }
            done => done,
        })
    }

    /// Read an index in batches (ZSCAN), with `batch` deciding for each batch of members
    /// what to delete: each command waits at most `timeout`, however large the index is.
    /// `pattern`: only members matching it (a glob over the member bytes).
    fn scan_index(
        &self,
        index: &[u8],
        pattern: Option<&[u8]>,
        mut batch: impl FnMut(&mut Connection, Vec<Vec<u8>>) -> RedisResult<usize>,
    ) -> Result<usize, Failure> {
        self.run(&mut self.budget(), |conn| {
            let mut cursor: u64 = 0;
            let mut deleted = 0usize;
            loop {
                let mut scan = redis::cmd("ZSCAN");
                scan.arg(index).arg(cursor);
                if let Some(pattern) = pattern {
                    scan.arg("MATCH").arg(pattern);
                }
                let count = match pattern {
                    Some(_) => MATCH_BATCH,
                    None => DELETE_BATCH,
                };
                let (next, flat): (u64, Vec<Vec<u8>>) = scan.arg("COUNT").arg(count).query(conn)?;
                // Members and scores alternate.
                let members: Vec<Vec<u8>> = flat.into_iter().step_by(2).collect();
                if !members.is_empty() {
                    deleted += batch(conn, members)?;
                }
                if next == 0 {
                    return Ok(deleted);
                }
                cursor = next;
            }
        })
    }

    /// Delete the entries of `path` that `selects(key digest, uri digest, host)`;
    /// the number of entries deleted. Their Vary records go with them. `uri`: only that
    /// URI's entries (its digest), matched by Redis while scanning.
    pub fn purge_path(
        &self,
        path: &[u8],
        uri: Option<&str>,
        selects: impl Fn(&str, &str, &[u8]) -> bool,
    ) -> Result<usize, Failure> {
        let index = self.name("ip:", &digest(path));
        // Any key digest, then this URI's digest, then any host (digests are hex: nothing
        // in them is a glob character).
        let pattern = uri.map(|uri| format!("{}{uri}*", "?".repeat(64)).into_bytes());
        self.scan_index(&index, pattern.as_deref(), |conn, members| {
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
            if chosen.is_empty() {
                return Ok(0);
            }
            let deleted: usize = redis::cmd("DEL").arg(&responses).query(conn)?;
            if !records.is_empty() {
                let records: Vec<Vec<u8>> = records.into_iter().collect();
                redis::cmd("DEL").arg(&records).query::<()>(conn)?;
            }
            redis::cmd("ZREM")
                .arg(&index)
                .arg(&chosen)
                .query::<()>(conn)?;
            Ok(deleted)
        })
    }

    /// Delete every entry carrying `tag`; the number deleted.
    pub fn purge_tag(&self, tag: &str) -> Result<usize, Failure> {
        let index = self.name("it:", &digest(tag.as_bytes()));
        self.scan_index(&index, None, |conn, members| {
            let names: Vec<Vec<u8>> = members
                .iter()
                .filter_map(|key| std::str::from_utf8(key).ok())
                .map(|key| self.name("e:", key))
                .collect();
            let deleted: usize = if names.is_empty() {
                0
            } else {
                redis::cmd("DEL").arg(&names).query(conn)?
            };
            redis::cmd("ZREM")
                .arg(&index)
                .arg(&members)
                .query::<()>(conn)?;
            Ok(deleted)
        })
    }

    /// Delete every key under the prefix, found with SCAN (never KEYS or FLUSHDB); the
    /// number of keys deleted.
    pub fn clear(&self) -> Result<usize, Failure> {
        let pattern = glob_escape(&self.prefix);
        self.run(&mut self.budget(), |conn| {
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
    pub fn lock(
        &self,
        budget: &mut Budget,
        key: &[u8],
        token: &str,
        hold: Duration,
    ) -> Result<bool, Failure> {
        let name = self.name("l:", &digest(key));
        let ms = px(hold);
        self.run(budget, |conn| {
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

    /// Who holds the flight lock of `key` now.
    pub fn lock_state(&self, key: &[u8]) -> Result<LockState, Failure> {
        let name = self.name("l:", &digest(key));
        self.run(&mut self.budget(), |conn| {
            let value: Option<Vec<u8>> = redis::cmd("GET").arg(&name).query(conn)?;
            Ok(match value {
                None => LockState::Free,
                Some(value) if value == PASS.as_bytes() => LockState::Pass,
                Some(_) => LockState::Held,
            })
        })
    }

    /// Release the lock if it is still ours (compare-and-delete): waiters take the lead.
    pub fn unlock(&self, key: &[u8], token: &str) -> Result<(), Failure> {
        let name = self.name("l:", &digest(key));
        self.run(&mut self.budget(), |conn| {
            redis::cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(&name)
                .arg(token)
                .query::<()>(conn)
        })
    }

    /// Turn the lock, if it is still ours, into [`PASS`]: the response could not be stored,
    /// so the processes waiting on it call the app at once instead of one after another.
    pub fn pass(&self, key: &[u8], token: &str) -> Result<(), Failure> {
        let name = self.name("l:", &digest(key));
        self.run(&mut self.budget(), |conn| {
            redis::cmd("EVAL")
                .arg(PASS_LOCK)
                .arg(1)
                .arg(&name)
                .arg(token)
                .arg(PASS_MS)
                .query::<()>(conn)
        })
    }
}

/// Wait, polling, until the flight lock of `key` is no longer held or `until`; what it was
/// then ([`LockState::Held`] when `until` came first). A leader that died lets its lock
/// expire. Call it with the GIL released. A failed poll is returned, to be reported.
pub fn wait_for_lock(store: &RedisStore, key: &[u8], until: Instant) -> Result<LockState, Failure> {
    let mut pause = Duration::from_millis(2);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(LockState::Held);
        }
        std::thread::sleep(pause.min(left));
        match store.lock_state(key)? {
            LockState::Held => pause = (pause * 2).min(Duration::from_millis(50)),
            other => return Ok(other),
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
