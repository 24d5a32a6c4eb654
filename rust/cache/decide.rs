//! What a Cache lookup does next, from what it found (pure: no pyo3). `lookup.rs` runs the
//! loop (find, serve, lead or wait for a flight) and asks this at each turn.

use super::freshness::Lookup;

/// The request's side of the decision, fixed for the whole lookup.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    pub lookup: Lookup,
    /// The request carries Authorization (RFC 9111 §3.5).
    pub authorization: bool,
    /// An honoured request max-age=N: the client takes nothing older (§5.2.1.1).
    pub max_age: Option<u64>,
    pub single_flight: bool,
}

/// A fresh entry the lookup found.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// The origin declared it shareable with authenticated requests.
    pub shareable: bool,
    /// Its age, whole seconds.
    pub seconds: u64,
    /// It is the very entry this request refused on an earlier turn.
    pub refused_before: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Answer from the entry found.
    Serve,
    /// Call the app; its response is stored only if it says it may be shared.
    Bypass,
    /// Call the app without the single flight.
    Miss,
    /// Lead the flight for this key or wait for the one in progress (once).
    Flight,
}

/// `waited`: this request already waited for a flight.
pub fn next(ask: &Ask, found: Option<Seen>, waited: bool) -> Next {
    if let Some(seen) = found {
        if ask.authorization && !seen.shareable {
            return Next::Bypass;
        }
        // A refresh does not take the entry it first finds. After waiting for a flight, a
        // new entry is the response this request was coalesced on: taken even when its age
        // has just rounded up past a request max-age=0 (the seconds are whole).
        let refreshing = ask.lookup == Lookup::Refresh && (!waited || seen.refused_before);
        let refreshed = waited && !seen.refused_before;
        if refreshed || (!refreshing && ask.max_age.is_none_or(|max| seen.seconds <= max)) {
            return Next::Serve;
        }
    }
    if ask.authorization {
        Next::Bypass
    } else if !ask.single_flight || waited {
        Next::Miss
    } else {
        Next::Flight
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
