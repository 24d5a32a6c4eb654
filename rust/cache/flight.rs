//! Single-flight: concurrent misses for one key call the app once. The first request leads
//! (holds a [`FlightGuard`] until its response is stored or given up); the others wait on the
//! flight, with the GIL released by the caller, for a bounded time.
//!
//! A leader is trusted for a lease (`single_flight_timeout`). When it fails (raises, answers
//! 5xx, stops early) or outlives its lease, exactly one waiter takes the lead and the others
//! wait for that one, as Varnish's waiting list does: a failing backend does not get the
//! whole stampede at the moment it can least take it. When the response simply may not be
//! stored, every waiter calls the app at once (Varnish's hit-for-miss).
//!
//! Pure (no pyo3). The guard lands the flight when dropped, as failed unless the leader said
//! otherwise, so a leader that raises, is closed early or is garbage-collected never leaves
//! waiters stuck.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::key::Key;

/// How a flight ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// The response was stored: look again.
    Stored,
    /// The response may not be stored: call the app, without waiting for one another.
    Pass,
    /// The leader failed or outlived its lease: one waiter takes the lead.
    Failed,
}

pub struct Flight {
    landed: Mutex<Option<Landed>>,
    wake: Condvar,
    leader: ThreadId,
    /// When the leader stops being trusted: its start plus the lease.
    lease_end: Instant,
}

impl Flight {
    /// Block until the flight lands, its lease ends or `until`, whichever comes first: how it
    /// landed ([`Landed::Failed`] once the lease ended), or None when `until` came first.
    /// Call it with the GIL released: the leader needs it to finish.
    pub fn wait(&self, until: Instant) -> Option<Landed> {
        let deadline = until.min(self.lease_end);
        let mut landed = self.landed.lock();
        while landed.is_none() {
            if self.wake.wait_until(&mut landed, deadline).timed_out() {
                break;
            }
        }
        match *landed {
            Some(how) => Some(how),
            None if Instant::now() >= self.lease_end => Some(Landed::Failed),
            None => None,
        }
    }

    fn expired(&self, now: Instant) -> bool {
        now >= self.lease_end && self.landed.lock().is_none()
    }
}

#[derive(Default)]
pub struct Flights {
    /// lru's hasher (foldhash): several times cheaper than SipHash on ~60-byte keys.
    in_flight: Mutex<HashMap<Key, Arc<Flight>, lru::DefaultHasher>>,
}

/// What a request that missed does next.
pub enum Join {
    /// Nobody is fetching this key (or its leader outlived its lease): call the app, keep
    /// the guard until the response ends.
    Lead(FlightGuard),
    /// Another thread is fetching it: wait, then look again.
    Wait(Arc<Flight>),
    /// This very thread leads the flight (a server or test driving two responses at once
    /// from one thread): waiting would deadlock, so call the app.
    Own,
}

impl Flights {
    /// Lead the flight for `key` with a lease of `lease`, or join the one in progress. A
    /// flight whose leader outlived its lease is taken over by the first to join it.
    pub fn join(self: &Arc<Self>, key: &Key, lease: Duration) -> Join {
        let me = std::thread::current().id();
        let now = Instant::now();
        let mut in_flight = self.in_flight.lock();
        if let Some(flight) = in_flight.get(key) {
            if flight.leader == me {
                return Join::Own;
            }
            if !flight.expired(now) {
                return Join::Wait(flight.clone());
            }
        }
        let flight = Arc::new(Flight {
            landed: Mutex::new(None),
            wake: Condvar::new(),
            leader: me,
            lease_end: now.checked_add(lease).unwrap_or(now),
        });
        // A flight taken over stays with its old leader's guard, which lands it (and wakes
        // nobody new: its waiters already moved here).
        in_flight.insert(key.clone(), flight.clone());
        Join::Lead(FlightGuard {
            flights: self.clone(),
            key: key.clone(),
            flight,
            landing: Landed::Failed,
        })
    }

    /// The flight in progress for `key`, if another thread leads one in its lease (for
    /// requests that may wait for a leader but never lead: HEAD, conditional requests).
    pub fn in_progress(&self, key: &Key) -> Option<Arc<Flight>> {
        let me = std::thread::current().id();
        let now = Instant::now();
        self.in_flight
            .lock()
            .get(key)
            .filter(|flight| flight.leader != me && !flight.expired(now))
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.in_flight.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Held by the leader; dropping it lands the flight and wakes every waiter.
pub struct FlightGuard {
    flights: Arc<Flights>,
    key: Key,
    flight: Arc<Flight>,
    /// How the flight lands when the guard drops: failed unless the leader says otherwise.
    landing: Landed,
}

impl FlightGuard {
    /// Land the flight now, as `how`.
    pub fn land(mut self, how: Landed) {
        self.landing = how;
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        {
            let mut in_flight = self.flights.in_flight.lock();
            if in_flight
                .get(&self.key)
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            {
                in_flight.remove(&self.key);
            }
        }
        *self.flight.landed.lock() = Some(self.landing);
        self.flight.wake.notify_all();
    }
}

#[cfg(test)]
#[path = "flight_tests.rs"]
mod tests;
