//! Cache keys: the request's URI parts plus the values of the headers the response varies on.
//! Every part is length-prefixed, so no value can fake a boundary: Django before 6.0 joined
//! header values with a separator that could occur inside them, and two different requests
//! shared an entry.

use crate::wsgi::accept_encoding::accepted_set;

/// Marks a header the request did not send, distinct from every length (and so from "").
const ABSENT: u64 = u64::MAX;

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Debug, Default)]
pub struct KeyBuilder(Vec<u8>);

impl KeyBuilder {
    /// The URI part, the same for every variant (RFC 9111 §2: the target URI).
    pub fn new(scheme: &str, host: &str, script_name: &str, path_info: &str, query: &str) -> Self {
        let mut builder = KeyBuilder(Vec::with_capacity(
            scheme.len() + host.len() + script_name.len() + path_info.len() + query.len() + 48,
        ));
        for part in [
            scheme,
            host.to_ascii_lowercase().as_str(),
            script_name,
            path_info,
            query,
        ] {
            builder.part(part.as_bytes());
        }
        builder
    }

    fn part(&mut self, bytes: &[u8]) {
        let len = u64::try_from(bytes.len()).unwrap_or(ABSENT - 1);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    /// One request header named by the response's Vary: its name and its value, normalised
    /// where equivalent values must share an entry (Accept-Encoding: the accepted set).
    pub fn vary(&mut self, name: &str, value: Option<&str>) {
        let name = name.trim().to_ascii_lowercase();
        self.part(name.as_bytes());
        match value {
            None => self.0.extend_from_slice(&ABSENT.to_be_bytes()),
            Some(value) if name == "accept-encoding" => {
                self.part(accepted_set(Some(value)).join(",").as_bytes())
            }
            Some(value) => self.part(value.trim().as_bytes()),
        }
    }

    pub fn finish(self) -> Key {
        Key(self.0)
    }
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
