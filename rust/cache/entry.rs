//! The bytes a shared store keeps for one entry: a versioned binary format of our own, never
//! pickle (a shared store is written by every process that shares it, and unpickling what
//! it holds runs code: flask-caching CVE-2021-33026, django-redis#424).
//!
//! Pure (no pyo3). Decoding treats the bytes as untrusted: every length is checked against
//! what is left, every header is re-validated as PEP 3333 requires of an app's, and anything
//! that does not decode is a miss, never a panic.
//!
//! Layout (integers big-endian), after the 4-byte magic `WMC` + version:
//! - kind: `R` (a response) or `V` (the Vary names of a URI's responses);
//! - a response: code u16, stored_at i64 (ms), ttl_ms u64, age u64, stale_while_revalidate
//!   u32 (s), stale_if_error u32 (s), flags u8 (1: shareable, 2: add Content-Length), status,
//!   headers (count u32, then name and value), tags (count u32, then each), body;
//! - Vary names: count u32, then each name;
//! - a string or body is a u32 length and its bytes (strings UTF-8).

use crate::http::head::{check_header, parse_status};

const MAGIC: &[u8; 4] = b"WMC\x01";
const RESPONSE: u8 = b'R';
const VARY: u8 = b'V';
const SHAREABLE: u8 = 1;
const ADD_LENGTH: u8 = 2;

/// One stored response, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRecord {
    pub code: u16,
    /// The status line, `"200 OK"`.
    pub status: String,
    /// Milliseconds since the epoch.
    pub stored_at: i64,
    pub ttl_ms: u64,
    /// The app's Age when stored, in seconds.
    pub age: u64,
    /// RFC 5861 windows in seconds, after the freshness lifetime.
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub shareable: bool,
    /// Hits add `Content-Length` (the app sent none).
    pub add_length: bool,
    /// The app's headers, without Age and the status header.
    pub headers: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub body: Vec<u8>,
}

/// What one store key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Response(ResponseRecord),
    /// The response under this URI key varies on these request headers (lowercase, sorted).
    Vary(Vec<String>),
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // A body over 4 GiB (max_entry_bytes allows it) is written truncated and then fails
    // to decode: a miss, never a wrong body.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..len as usize).unwrap_or(bytes));
}

fn put_count(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_be_bytes());
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(match self {
            Record::Response(r) => r.body.len() + 64 + r.headers.len() * 48,
            Record::Vary(names) => 16 + names.len() * 24,
        });
        out.extend_from_slice(MAGIC);
        match self {
            Record::Response(r) => {
                out.push(RESPONSE);
                out.extend_from_slice(&r.code.to_be_bytes());
                out.extend_from_slice(&r.stored_at.to_be_bytes());
                out.extend_from_slice(&r.ttl_ms.to_be_bytes());
                out.extend_from_slice(&r.age.to_be_bytes());
                out.extend_from_slice(&r.stale_while_revalidate.to_be_bytes());
                out.extend_from_slice(&r.stale_if_error.to_be_bytes());
                let mut flags = 0;
                if r.shareable {
                    flags |= SHAREABLE;
                }
                if r.add_length {
                    flags |= ADD_LENGTH;
                }
                out.push(flags);
                put_bytes(&mut out, r.status.as_bytes());
                put_count(&mut out, r.headers.len());
                for (name, value) in &r.headers {
                    put_bytes(&mut out, name.as_bytes());
                    put_bytes(&mut out, value.as_bytes());
                }
                put_count(&mut out, r.tags.len());
                for tag in &r.tags {
                    put_bytes(&mut out, tag.as_bytes());
                }
                put_bytes(&mut out, &r.body);
            }
            Record::Vary(names) => {
                out.push(VARY);
                put_count(&mut out, names.len());
                for name in names {
                    put_bytes(&mut out, name.as_bytes());
                }
            }
        }
        out
    }

    /// The record these bytes hold, or None when they are not one (another version, another
    /// program's value under our prefix, a truncated write, a header PEP 3333 forbids).
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        let mut input = Reader(bytes);
        if input.take(4)? != MAGIC {
            return None;
        }
        let record = match input.u8()? {
            RESPONSE => {
                let code = u16::from_be_bytes(input.array()?);
                let stored_at = i64::from_be_bytes(input.array()?);
                let ttl_ms = u64::from_be_bytes(input.array()?);
                let age = u64::from_be_bytes(input.array()?);
                let stale_while_revalidate = u32::from_be_bytes(input.array()?);
                let stale_if_error = u32::from_be_bytes(input.array()?);
                let flags = input.u8()?;
                if flags & !(SHAREABLE | ADD_LENGTH) != 0 {
                    // A flag this version does not know: not what we wrote.
                    return None;
                }
                let status = input.string()?;
                if !valid_status(&status, code) {
                    return None;
                }
                let count = input.count()?;
                let mut headers = Vec::with_capacity(count.min(input.0.len() / 8));
                for _ in 0..count {
                    let name = input.string()?;
                    let value = input.string()?;
                    check_header(&name, &value).ok()?;
                    headers.push((name, value));
                }
                let count = input.count()?;
                let mut tags = Vec::with_capacity(count.min(input.0.len() / 4));
                for _ in 0..count {
                    tags.push(input.string()?);
                }
                let body = input.bytes()?.to_vec();
                Record::Response(ResponseRecord {
                    code,
                    status,
                    stored_at,
                    ttl_ms,
                    age,
                    stale_while_revalidate,
                    stale_if_error,
                    shareable: flags & SHAREABLE != 0,
                    add_length: flags & ADD_LENGTH != 0,
                    headers,
                    tags,
                    body,
                })
            }
            VARY => {
                let count = input.count()?;
                let mut names = Vec::with_capacity(count.min(input.0.len() / 4));
                for _ in 0..count {
                    names.push(input.string()?);
                }
                Record::Vary(names)
            }
            _ => return None,
        };
        // Trailing bytes: not what we wrote.
        input.0.is_empty().then_some(record)
    }
}

/// `"NNN reason"` with the stored code, as PEP 3333 (and the plumbing) requires of an app.
fn valid_status(status: &str, code: u16) -> bool {
    parse_status(status).ok() == Some(code)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(u32::from_be_bytes(self.array()?)).ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.count()?;
        self.take(len)
    }

    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }
}

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;
