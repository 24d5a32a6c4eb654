//! Cache's lookup (pure: no pyo3): where one request goes, answered from a stored entry or
//! sent to the app, and what its response then does for the single flight. It finds the
//! request's entry (the URI key, then the variant its Vary names pick), asks `decide.rs` what
//! to do with it turn by turn, and leads or waits for the flight: in this process through
//! `flight.rs`, across processes through the shared store's flight lock. What touches the
//! outside goes through a [`Port`]: the store, the lock, waiting (its implementation releases
//! the GIL), and the line a store failure writes on `wsgi.errors`. `lookup_port.rs` is the
//! real one; `lookup_tests.rs` scripts one.
//!
//! The flights' rules (tests/test_cache_redis_hardening.py holds them end to end):
//! - a plain GET miss leads; HEAD, conditional and Range requests wait for a flight but never
//!   lead one (their responses are not stored for everyone);
//! - on a shared store, a miss takes the key's flight lock in its lookup's round trip; one that
//!   finds the lock taken keeps this process's flight and polls the lock, then looks again;
//! - a leader that fails or outlives its lease hands the lead to exactly one waiter; one whose
//!   response may not be stored lets every waiter call the app at once;
//! - a stale entry answers at once within stale-while-revalidate while another request
//!   refreshes it, and within stale-if-error when the refresh waited for fails;
//! - waiting ends at twice `single_flight_timeout` in all: then the app answers;
//! - a store that fails is a bypass, reported once: the app answers, nothing is stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::admit::Refusal;
use super::config::{CacheConfig, BYPASS, HIT, MISS, STALE};
use super::decide::{next, Ask, Next, Seen};
use super::flight::{Flight, FlightGuard, Flights, Join, Landed};
use super::freshness::{age, lookup, Lookup, RequestDirectives, RequestFacts};
use super::key::Key;
use super::redis_store::{lock_token, Budget, Failure, LockState};
use crate::http::clock::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// OPTIONS, TRACE: safe, never cached, never invalidate.
    OtherSafe,
    /// Everything else (POST, PUT, PATCH, DELETE, ...): invalidates on success (RFC 9111 §4.4).
    Unsafe,
}

/// The request, as the lookup sees it.
pub struct Asked<'a> {
    pub method: Method,
    pub facts: RequestFacts,
    /// scheme, host, SCRIPT_NAME, PATH_INFO, QUERY_STRING.
    pub uri: &'a Key,
    /// It has preconditions (If-None-Match, If-Modified-Since) the app answers on a miss.
    pub conditional: bool,
    /// It asks for a Range: its response is not stored.
    pub has_range: bool,
}

/// What the lookup needs to know of a stored entry.
pub trait EntryFacts: Clone {
    /// public, s-maxage or must-revalidate: may answer requests with Authorization (§3.5).
    fn shareable(&self) -> bool;
    /// The app's Age when stored, in seconds.
    fn age(&self) -> u64;
    /// RFC 5861 windows after it went stale, in seconds.
    fn stale_while_revalidate(&self) -> u64;
    fn stale_if_error(&self) -> u64;
    /// It is the very entry `other` is (not one equal to it).
    fn same(&self, other: &Self) -> bool;
}

/// What a lookup under one key found.
pub enum Looked<E> {
    Fresh {
        stored: E,
        stored_at: i64,
    },
    /// Past its freshness but within a stale window: `stale_ms` since it went stale.
    Stale {
        stored: E,
        stored_at: i64,
        stale_ms: u64,
    },
    Vary(Arc<[String]>),
    Missing,
    /// A record read back from the shared store that Cache would never write (admit.rs):
    /// a miss, counted in `refused_records`, reported once ([`Port::refused`]).
    Refused(Refusal),
}

/// What a URI's record and one of its variants hold, looked up together.
pub type Pair<E> = (Looked<E>, Looked<E>);

/// What the lookup does outside: the store, its flight lock, waiting, reporting. A store
/// without flight locks (this process's memory) has no other process to lead for: its
/// [`Port::lock`] takes the lead, its lock is always free.
pub trait Port {
    type Entry: EntryFacts;

    /// What one request may spend on the store's commands (`store_timeout`).
    fn budget(&self) -> Budget;
    /// The entries live on a store shared by other processes, with a flight lock per key.
    fn shared_store(&self) -> bool;
    /// The Vary names last seen for `uri` on the shared store, if any (a shortcut only).
    fn known_vary(&self, uri: &Key) -> Option<Arc<[String]>>;
    /// The key of the variant of `uri` this request's values of `names` pick.
    fn variant_key(&self, uri: &Key, names: &[String]) -> Key;
    /// A URI and one of its variants in one round trip (the URI's record first, remembered).
    fn look_pair(
        &self,
        budget: &mut Budget,
        uri: &Key,
        variant: &Key,
        now: i64,
    ) -> Result<Pair<Self::Entry>, Failure>;
    /// Look `key` up at `now` (ms); when nothing is stored and `lock` (a token, a hold) is
    /// given, also take the key's flight lock in the same round trip (true when taken).
    fn look_or_lock(
        &self,
        budget: &mut Budget,
        key: &Key,
        now: i64,
        lock: Option<(&str, Duration)>,
    ) -> Result<(Looked<Self::Entry>, bool), Failure>;
    /// Keep (or forget) what a URI's record says about its variants.
    fn remember(&self, uri: &Key, looked: &Looked<Self::Entry>);
    /// Report a refused record (the first of this Cache gets a line on `wsgi.errors`).
    fn refused(&self, refusal: &Refusal);
    /// Take the flight lock of `key` for `hold`: true when this process now leads.
    fn lock(
        &self,
        budget: &mut Budget,
        key: &Key,
        token: &str,
        hold: Duration,
    ) -> Result<bool, Failure>;
    /// Release the flight lock of `key` if `token` still holds it.
    fn unlock(&self, key: &Key, token: &str) -> Result<(), Failure>;
    /// Wait until the flight lock of `key` is no longer held, or `until` (then `Held`).
    fn wait_for_lock(&self, key: &Key, until: Instant) -> Result<LockState, Failure>;
    /// Wait for this process's flight: [`Flight::wait`], with the GIL released.
    fn wait_for_flight(&self, flight: &Flight, until: Instant) -> Option<Landed>;
    /// Report a failed store operation (one line per outage on `wsgi.errors`).
    fn report(&self, failure: &Failure);
}

/// Where one request goes (see [`route`]). Made once per request and moved once, so the
/// size of its larger variant costs nothing that boxing it would save.
#[allow(clippy::large_enum_variant)]
pub enum Route<E> {
    /// The app answers.
    App(Forward<ToStore<E>>),
    /// The store answers, with the entry's age in seconds, labelled HIT or STALE.
    Serve {
        stored: E,
        seconds: u64,
        label: &'static str,
    },
}

/// A request the app answers: labelled, maybe stored (`S`: what storing it takes), maybe
/// invalidating what its URI stored.
pub struct Forward<S> {
    pub label: &'static str,
    pub invalidate: Option<Key>,
    pub store: Option<S>,
}

impl<S> Forward<S> {
    pub fn bypass() -> Self {
        Forward {
            label: BYPASS,
            invalidate: None,
            store: None,
        }
    }

    pub fn map<T>(self, with: impl FnOnce(S) -> T) -> Forward<T> {
        Forward {
            label: self.label,
            invalidate: self.invalidate,
            store: self.store.map(with),
        }
    }
}

/// What storing a miss's response takes from its lookup.
pub struct ToStore<E> {
    /// Set when this request leads this process's flight for its key.
    pub guard: Option<FlightGuard>,
    /// The key and token of the shared store's flight lock this request holds.
    pub remote_lock: Option<(Key, String)>,
    /// A stale entry within its stale-if-error window, and when it was stored (ms): what
    /// the client gets if this refresh fails.
    pub stale: Option<(E, i64)>,
    /// Request time (ms since the epoch).
    pub now: i64,
}

/// What [`find`] found under the key it looked up.
struct Found<E> {
    /// A fresh entry, with when it was stored (ms).
    fresh: Option<(E, i64)>,
    /// An entry past its freshness, within a stale window.
    stale: Option<StaleEntry<E>>,
    /// The flight lock the lookup took (nothing was stored): key and token.
    remote_lock: Option<(Key, String)>,
    key: Key,
}

struct StaleEntry<E> {
    stored: E,
    stored_at: i64,
    /// How long it has been stale (ms).
    stale_ms: u64,
}

impl<E: EntryFacts> StaleEntry<E> {
    fn while_revalidate(&self) -> bool {
        self.stale_ms < self.stored.stale_while_revalidate().saturating_mul(1000)
    }

    fn if_error(&self) -> bool {
        self.stale_ms < self.stored.stale_if_error().saturating_mul(1000)
    }
}

/// Where this request goes: the store answers it, or the app does (with what to label,
/// store or invalidate). Waits, through the port, for a flight another request leads.
pub fn route<P: Port>(
    port: &P,
    flights: &Arc<Flights>,
    config: &CacheConfig,
    request: &Asked<'_>,
) -> Route<P::Entry> {
    let forward = |label, store| {
        Route::App(Forward {
            label,
            invalidate: None,
            store,
        })
    };
    match request.method {
        Method::Get | Method::Head => {}
        Method::OtherSafe => return Route::App(Forward::bypass()),
        Method::Unsafe => {
            return Route::App(Forward {
                label: BYPASS,
                invalidate: Some(request.uri.clone()),
                store: None,
            })
        }
    }
    let is_get = request.method == Method::Get;
    let lookup = lookup(&request.facts, config.request_directives);
    if lookup == Lookup::Bypass {
        return Route::App(Forward::bypass());
    }
    // A miss whose response must not be stored leads no flight (it may wait for one):
    // an ignored no-store, and a Range request, whose response (a 206, or a 200 an
    // encoding layer below left uncompressed because of the Range) must not be found by
    // requests without Range. Only a GET's response is stored (a HEAD response has no
    // body to serve GETs with).
    let stores = is_get && lookup != Lookup::UseOnly && !request.has_range;
    let plan = |guard, remote_lock, stale, now| {
        stores.then_some(ToStore {
            guard,
            remote_lock,
            stale,
            now,
        })
    };
    let ask = Ask {
        lookup,
        authorization: request.facts.authorization,
        max_age: match config.request_directives {
            RequestDirectives::Honor => request.facts.cache_control.max_age,
            RequestDirectives::Ignore => None,
        },
        single_flight: config.single_flight,
    };
    // The entry a refresh refused, so that after waiting it takes only another one.
    let mut refused: Option<P::Entry> = None;
    // How the last flight this request waited for ended.
    let mut after: Option<Landed> = None;
    // This process's flight, led by this request while it waits on another process's.
    let mut held: Option<FlightGuard> = None;
    let timeout = config.single_flight_timeout;
    // Waiting for flights (a leader that fails or outlives its lease hands the lead to one
    // waiter) ends at twice single_flight_timeout in all; then the app answers.
    let started = Instant::now();
    let give_up = started.checked_add(timeout * 2).unwrap_or(started);
    // What this request may spend on the store's commands: store_timeout in all.
    let mut budget = port.budget();
    // A plain GET miss on a shared store takes its flight lock in the lookup's round trip.
    let may_lead = stores
        && !request.conditional
        && config.single_flight
        && !ask.authorization
        && port.shared_store();
    loop {
        let now = now_ms();
        // The flight answered (stored, or passed to everyone), or waiting is over.
        let waited =
            Instant::now() >= give_up || matches!(after, Some(Landed::Stored | Landed::Pass));
        let token = (may_lead && !waited).then(lock_token);
        let found = match find(
            port,
            &mut budget,
            request.uri,
            now,
            token.as_deref(),
            timeout,
        ) {
            Ok(found) => found,
            Err(failure) => {
                // Fail open: the app answers, nothing is stored.
                port.report(&failure);
                return Route::App(Forward::bypass());
            }
        };
        let Found {
            fresh,
            stale,
            mut remote_lock,
            key,
        } = found;
        // A lock the lookup took and this turn does not lead with is given back.
        let release = |taken: Option<(Key, String)>| {
            if let Some((key, token)) = taken {
                if let Err(failure) = port.unlock(&key, &token) {
                    port.report(&failure);
                }
            }
        };
        // This process's flight, when this request leaves without leading it: its
        // waiters look again (what this request found is there for them too).
        let land = |held: &mut Option<FlightGuard>, how| {
            if let Some(guard) = held.take() {
                guard.land(how);
            }
        };
        let seen = fresh.as_ref().map(|(stored, stored_at)| Seen {
            shareable: stored.shareable(),
            seconds: age(
                stored.age(),
                stored_at.div_euclid(1000),
                now.div_euclid(1000),
            ),
            refused_before: refused.as_ref().is_some_and(|old| old.same(stored)),
        });
        // A stale entry is served only to requests that could take the same entry
        // fresh: not a refresh, nor an authenticated request for an unshareable entry.
        let stale = stale.filter(|entry| {
            let as_fresh = Seen {
                shareable: entry.stored.shareable(),
                seconds: 0,
                refused_before: false,
            };
            next(&ask, Some(as_fresh), false) == Next::Serve
        });
        let serve_stale = |entry: &StaleEntry<P::Entry>| Route::Serve {
            stored: entry.stored.clone(),
            seconds: age(
                entry.stored.age(),
                entry.stored_at.div_euclid(1000),
                now.div_euclid(1000),
            ),
            label: STALE,
        };
        // A stale entry within stale-while-revalidate answers at once while another
        // request refreshes it; within stale-if-error it answers when the refresh fails.
        let revalidating = stale.as_ref().filter(|entry| entry.while_revalidate());
        let if_error = || {
            stale
                .as_ref()
                .filter(|entry| entry.if_error())
                .map(|entry| (entry.stored.clone(), entry.stored_at))
        };
        if after == Some(Landed::Failed) && fresh.is_none() {
            // The flight this request waited for failed: stale-if-error answers.
            if let Some(entry) = stale.as_ref().filter(|entry| entry.if_error()) {
                release(remote_lock.take());
                land(&mut held, Landed::Failed);
                return serve_stale(entry);
            }
        }
        // After a failed flight, an entry found is one another process stored meanwhile.
        let answered = waited || (after.is_some() && seen.is_some());
        match (next(&ask, seen, answered), fresh) {
            (Next::Serve, Some((stored, _))) => {
                land(&mut held, Landed::Stored);
                let seconds = seen.map_or(0, |seen| seen.seconds);
                return Route::Serve {
                    stored,
                    seconds,
                    label: HIT,
                };
            }
            (Next::Serve, None) => {}
            (Next::Bypass, _) => {
                release(remote_lock);
                land(&mut held, Landed::Pass);
                return forward(BYPASS, plan(None, None, None, now));
            }
            (Next::Miss, _) => {
                release(remote_lock);
                // Still this process's leader: its waiters wait for this response.
                return forward(MISS, plan(held.take(), None, if_error(), now));
            }
            (Next::Flight, fresh) => {
                if let Some((stored, _)) = fresh {
                    refused = Some(stored);
                }
            }
        }
        // Only a plain GET whose response is stored leads a flight. HEAD, conditional
        // and Range requests may wait for one.
        let flight = if stores && !request.conditional {
            let joined = match held.take() {
                Some(guard) => Join::Lead(guard),
                None => flights.join(&key, timeout),
            };
            match joined {
                Join::Lead(guard) => {
                    if !port.shared_store() {
                        return forward(MISS, plan(Some(guard), None, if_error(), now));
                    }
                    if let Some(taken) = remote_lock.take() {
                        return forward(MISS, plan(Some(guard), Some(taken), if_error(), now));
                    }
                    // Lead across processes too, or wait for the process that leads.
                    let token = lock_token();
                    match port.lock(&mut budget, &key, &token, timeout) {
                        Ok(true) => {
                            let lock = Some((key, token));
                            return forward(MISS, plan(Some(guard), lock, if_error(), now));
                        }
                        Ok(false) => {
                            if let Some(entry) = revalidating {
                                guard.land(Landed::Stored);
                                return serve_stale(entry);
                            }
                            // This thread's guard keeps the process's other requests
                            // waiting on it meanwhile. A lock found free is looked at
                            // again: the entry is there, or this request takes the lead.
                            match port.wait_for_lock(&key, give_up) {
                                Ok(LockState::Pass) => after = Some(Landed::Pass),
                                Ok(LockState::Free | LockState::Held) => {
                                    after = Some(Landed::Failed);
                                }
                                Err(failure) => {
                                    port.report(&failure);
                                    guard.land(Landed::Failed);
                                    return Route::App(Forward::bypass());
                                }
                            }
                            held = Some(guard);
                            continue;
                        }
                        Err(failure) => {
                            port.report(&failure);
                            return Route::App(Forward::bypass());
                        }
                    }
                }
                // The lookup took the shared lock: this request leads across processes
                // even though another thread of this process leads here (it waits on
                // the shared lock, which this request releases once it stored).
                Join::Wait(_) | Join::Own if remote_lock.is_some() => {
                    return forward(MISS, plan(None, remote_lock.take(), if_error(), now));
                }
                Join::Wait(flight) => Some(flight),
                Join::Own => None,
            }
        } else {
            flights.in_progress(&key)
        };
        release(remote_lock.take());
        let Some(flight) = flight else {
            return forward(MISS, plan(None, None, if_error(), now));
        };
        if let Some(entry) = revalidating {
            return serve_stale(entry);
        }
        // Until the flight lands, its leader's lease ends, or waiting is over (then the
        // next turn calls the app).
        after = Some(
            port.wait_for_flight(&flight, give_up)
                .unwrap_or(Landed::Failed),
        );
    }
}

/// The stored response for this request, fresh or stale, and the key it was looked up
/// under (the URI key, or a variant key when the URI's responses vary) for the miss path.
/// `lock`: a token to take the key's flight lock with for `hold`, in the lookup's round
/// trip, when nothing is stored (a miss that will lead).
fn find<P: Port>(
    port: &P,
    budget: &mut Budget,
    uri: &Key,
    now: i64,
    lock: Option<&str>,
    hold: Duration,
) -> Result<Found<P::Entry>, Failure> {
    let hold = lock.map(|token| (token, hold));
    let found = |(looked, locked): (Looked<P::Entry>, bool), key: Key| match looked {
        _ if locked => Found {
            fresh: None,
            stale: None,
            remote_lock: lock.map(|token| (key.clone(), token.to_owned())),
            key,
        },
        Looked::Fresh { stored, stored_at } => Found {
            fresh: Some((stored, stored_at)),
            stale: None,
            remote_lock: None,
            key,
        },
        Looked::Stale {
            stored,
            stored_at,
            stale_ms,
        } => Found {
            fresh: None,
            stale: Some(StaleEntry {
                stored,
                stored_at,
                stale_ms,
            }),
            remote_lock: None,
            key,
        },
        Looked::Vary(_) | Looked::Missing => Found {
            fresh: None,
            stale: None,
            remote_lock: None,
            key,
        },
        // A record Cache would never write: a miss, whose response replaces it.
        Looked::Refused(refusal) => {
            port.refused(&refusal);
            Found {
                fresh: None,
                stale: None,
                remote_lock: None,
                key,
            }
        }
    };
    // A URI this process saw vary, on a shared store: its record and the variant in one trip.
    let first = match port.known_vary(uri) {
        Some(names) => {
            let key = port.variant_key(uri, &names);
            match port.look_pair(budget, uri, &key, now)? {
                (Looked::Vary(current), variant) if current == names => {
                    return Ok(match variant {
                        // Nothing there yet: look again, taking the flight lock.
                        Looked::Missing if hold.is_some() => {
                            found(port.look_or_lock(budget, &key, now, hold)?, key)
                        }
                        variant => found((variant, false), key),
                    });
                }
                // The URI's record changed: go on from what it says now.
                (uri_looked, _) => (uri_looked, false),
            }
        }
        None => {
            let first = port.look_or_lock(budget, uri, now, hold)?;
            port.remember(uri, &first.0);
            first
        }
    };
    Ok(match first {
        (Looked::Vary(names), _) => {
            let key = port.variant_key(uri, &names);
            found(port.look_or_lock(budget, &key, now, hold)?, key)
        }
        looked => found(looked, uri.clone()),
    })
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
