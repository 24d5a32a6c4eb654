//! Single-flight: concurrent misses for one key call the app once. The first request leads
//! (holds a [`FlightGuard`] until its response is stored or given up); the others wait on the
//! flight, with the GIL released by the caller, for at most a bounded time.
//!
//! Pure (no pyo3). The guard releases the flight when dropped, so a leader that fails, is
//! closed early or is simply garbage-collected never leaves waiters stuck.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::key::Key;

pub struct Flight {
    done: Mutex<bool>,
    landed: Condvar,
    leader: ThreadId,
}

impl Flight {
    /// Block until the leader is done or `timeout` has passed. True if the leader finished.
    /// Call it with the GIL released: the leader needs it to finish.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut done = self.done.lock();
        while !*done {
            if self.landed.wait_until(&mut done, deadline).timed_out() {
                return *done;
            }
        }
        true
    }
}

#[derive(Default)]
pub struct Flights {
    /// lru's hasher (foldhash): several times cheaper than SipHash on ~60-byte keys.
    in_flight: Mutex<HashMap<Key, Arc<Flight>, lru::DefaultHasher>>,
}

/// What a request that missed does next.
pub enum Join {
    /// Nobody is fetching this key: call the app, keep the guard until the response ends.
    Lead(FlightGuard),
    /// Another thread is fetching it: wait, then look again.
    Wait(Arc<Flight>),
    /// This very thread leads the flight (a server or test driving two responses at once
    /// from one thread): waiting would deadlock, so call the app.
    Own,
}

impl Flights {
    /// Lead the flight for `key`, or join the one in progress.
    pub fn join(self: &Arc<Self>, key: &Key) -> Join {
        let me = std::thread::current().id();
        let mut in_flight = self.in_flight.lock();
        if let Some(flight) = in_flight.get(key) {
            return if flight.leader == me {
                Join::Own
            } else {
                Join::Wait(flight.clone())
            };
        }
        let flight = Arc::new(Flight {
            done: Mutex::new(false),
            landed: Condvar::new(),
            leader: me,
        });
        in_flight.insert(key.clone(), flight.clone());
        Join::Lead(FlightGuard {
            flights: self.clone(),
            key: key.clone(),
            flight,
        })
    }

    /// The flight in progress for `key`, if another thread leads one (for requests that may
    /// wait for a leader but never lead: HEAD, conditional requests).
    pub fn in_progress(&self, key: &Key) -> Option<Arc<Flight>> {
        let me = std::thread::current().id();
        self.in_flight
            .lock()
            .get(key)
            .filter(|flight| flight.leader != me)
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
        *self.flight.done.lock() = true;
        self.flight.landed.notify_all();
    }
}

#[cfg(test)]
#[path = "flight_tests.rs"]
mod tests;
