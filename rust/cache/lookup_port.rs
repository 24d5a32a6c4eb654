//! Python hook: the lookup's [`Port`] on a real Cache (lookup.rs holds the machine). It looks
//! entries up in the `Shared` store, reads the request's Vary values from its environ, takes
//! and polls the Redis flight lock and waits for flights with the GIL released, and writes a
//! store failure's line on the request's `wsgi.errors`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::admit::Refusal;
use super::flight::{Flight, Landed};
use super::key::Key;
use super::lookup::{EntryFacts, Port};
use super::redis_store::{wait_for_lock, Budget, Failure, LockState};
use super::request::variant_key;
use super::shared::{report, Looked, Shared, Stored};

impl EntryFacts for Arc<Stored> {
    fn shareable(&self) -> bool {
        self.shareable
    }

    fn age(&self) -> u64 {
        self.age
    }

    fn stale_while_revalidate(&self) -> u64 {
        self.stale_while_revalidate
    }

    fn stale_if_error(&self) -> u64 {
        self.stale_if_error
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other)
    }
}

/// One request's way to the store: its environ (Vary values, `wsgi.errors`) and the Cache's
/// shared state.
pub struct Hooks<'a, 'py> {
    pub py: Python<'py>,
    pub environ: &'a Bound<'py, PyDict>,
    pub shared: &'a Shared,
}

impl Port for Hooks<'_, '_> {
    type Entry = Arc<Stored>;

    fn budget(&self) -> Budget {
        self.shared.budget()
    }

    fn shared_store(&self) -> bool {
        self.shared.remote().is_some()
    }

    fn known_vary(&self, uri: &Key) -> Option<Arc<[String]>> {
        self.shared.known_vary(uri)
    }

    fn variant_key(&self, uri: &Key, names: &[String]) -> Key {
        variant_key(self.environ, uri, names)
    }

    fn look_pair(
        &self,
        budget: &mut Budget,
        uri: &Key,
        variant: &Key,
        now: i64,
    ) -> Result<(Looked, Looked), Failure> {
        self.shared.look_pair(self.py, budget, uri, variant, now)
    }

    fn look_or_lock(
        &self,
        budget: &mut Budget,
        key: &Key,
        now: i64,
        lock: Option<(&str, Duration)>,
    ) -> Result<(Looked, bool), Failure> {
        self.shared.look_or_lock(self.py, budget, key, now, lock)
    }

    fn remember(&self, uri: &Key, looked: &Looked) {
        self.shared.remember(uri, looked);
    }

    fn refused(&self, refusal: &Refusal) {
        self.shared
            .report_refusal(self.py, self.environ.as_any(), refusal);
    }

    fn lock(
        &self,
        budget: &mut Budget,
        key: &Key,
        token: &str,
        hold: Duration,
    ) -> Result<bool, Failure> {
        match self.shared.remote() {
            Some(store) => self
                .py
                .detach(|| store.lock(budget, key.as_bytes(), token, hold)),
            None => Ok(true),
        }
    }

    fn unlock(&self, key: &Key, token: &str) -> Result<(), Failure> {
        match self.shared.remote() {
            Some(store) => self.py.detach(|| store.unlock(key.as_bytes(), token)),
            None => Ok(()),
        }
    }

    fn wait_for_lock(&self, key: &Key, until: Instant) -> Result<LockState, Failure> {
        match self.shared.remote() {
            Some(store) => self
                .py
                .detach(|| wait_for_lock(store, key.as_bytes(), until)),
            None => Ok(LockState::Free),
        }
    }

    fn wait_for_flight(&self, flight: &Flight, until: Instant) -> Option<Landed> {
        self.py.detach(|| flight.wait(until))
    }

    fn report(&self, failure: &Failure) {
        report(self.py, self.environ.as_any(), failure);
    }
}
