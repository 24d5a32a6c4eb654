//! Table tests for `lookup.rs`: the lookup's rules, each case named after one, against a
//! scripted port (a store of plain entries, a flight lock another process may hold, counters
//! of what the lookup did outside) and the real single-flight table. Where a rule is about
//! waiting, the other requests are real threads, told apart by the port's "waiting" signal
//! rather than by sleeps.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use parking_lot::Mutex;

use super::super::key::KeyBuilder;
use super::*;
use crate::cache::freshness::Policy;
use crate::http::cache_control::CacheControl;

/// A stored response as the lookup sees it; `id` tells entries apart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Page {
    id: u32,
    shareable: bool,
    age: u64,
    stale_while_revalidate: u64,
    stale_if_error: u64,
}

const PAGE: Page = Page {
    id: 1,
    shareable: false,
    age: 0,
    stale_while_revalidate: 0,
    stale_if_error: 0,
};

impl EntryFacts for Page {
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
        self.id == other.id
    }
}

/// What the fake store holds under a key.
#[derive(Clone)]
enum Holds {
    /// Stored `seconds` ago, fresh.
    Fresh(Page, i64),
    /// Stored `seconds` ago, stale for `stale_ms`.
    Stale(Page, i64, u64),
    Vary(Arc<[String]>),
    Refused,
}

/// What another process does while the request polls its flight lock.
type OnLockWait = Box<dyn FnOnce(&mut Store) -> Result<LockState, Failure> + Send>;

#[derive(Default)]
struct Store {
    entries: HashMap<Key, Holds>,
    /// The token holding each key's flight lock (`OTHER`: another process).
    locks: HashMap<Key, String>,
    /// Every command fails (an outage).
    down: bool,
    /// Only the lock command fails.
    lock_fails: bool,
}

const OTHER: &str = "another process";

#[derive(Default)]
struct Counts {
    /// `look_or_lock` calls, and those that carried a lock token.
    lookups: AtomicUsize,
    lookups_with_token: AtomicUsize,
    /// `look_pair` calls (the known-Vary shortcut).
    pairs: AtomicUsize,
    /// `lock` commands (a lock taken outside the lookup's round trip).
    locks: AtomicUsize,
    unlocks: AtomicUsize,
    lock_waits: AtomicUsize,
    flight_waits: AtomicUsize,
    reports: AtomicUsize,
    refusals: AtomicUsize,
}

fn count(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

/// The scripted port: a store of `Page`s, in this process's memory or shared with others.
#[derive(Default)]
struct Fake {
    shared: bool,
    store: Mutex<Store>,
    on_lock_wait: Mutex<VecDeque<OnLockWait>>,
    /// Told each time a request starts waiting for a flight.
    waiting: Mutex<Option<mpsc::Sender<()>>>,
    /// The request's header values a variant key is made of.
    headers: HashMap<String, String>,
    known_vary: Mutex<HashMap<Key, Arc<[String]>>>,
    counts: Counts,
}

impl Fake {
    fn memory() -> Fake {
        Fake::default()
    }

    fn redis() -> Fake {
        Fake {
            shared: true,
            ..Fake::default()
        }
    }

    fn holding(self, key: &Key, holds: Holds) -> Fake {
        self.store.lock().entries.insert(key.clone(), holds);
        self
    }

    /// Another process holds the flight lock of `key`.
    fn locked_elsewhere(self, key: &Key) -> Fake {
        self.store
            .lock()
            .locks
            .insert(key.clone(), OTHER.to_owned());
        self
    }

    fn then_on_lock_wait(
        self,
        other: impl FnOnce(&mut Store) -> Result<LockState, Failure> + Send + 'static,
    ) -> Fake {
        self.on_lock_wait.lock().push_back(Box::new(other));
        self
    }

    /// A receiver told each time a request starts waiting for a flight.
    fn watch_waits(&self) -> mpsc::Receiver<()> {
        let (tell, told) = mpsc::channel();
        *self.waiting.lock() = Some(tell);
        told
    }

    fn put(&self, key: &Key, holds: Holds) {
        self.store.lock().entries.insert(key.clone(), holds);
    }

    fn lock_holder(&self, key: &Key) -> Option<String> {
        self.store.lock().locks.get(key).cloned()
    }

    /// What `key` holds at `now` (the lookup's time, so ages come out exact).
    fn look(&self, key: &Key, now: i64) -> Looked<Page> {
        match self.store.lock().entries.get(key).cloned() {
            Some(Holds::Fresh(stored, seconds)) => Looked::Fresh {
                stored,
                stored_at: now - seconds * 1000,
            },
            Some(Holds::Stale(stored, seconds, stale_ms)) => Looked::Stale {
                stored,
                stored_at: now - seconds * 1000,
                stale_ms,
            },
            Some(Holds::Vary(names)) => Looked::Vary(names),
            Some(Holds::Refused) => Looked::Refused(Refusal::Undecodable),
            None => Looked::Missing,
        }
    }

    fn fails(&self) -> Result<(), Failure> {
        if self.store.lock().down {
            return Err(outage());
        }
        Ok(())
    }
}

fn outage() -> Failure {
    Failure::Failed {
        first: true,
        outage: true,
        message: "connection refused".to_owned(),
    }
}

impl Port for Fake {
    type Entry = Page;

    fn budget(&self) -> Budget {
        Budget::new(Duration::from_secs(1))
    }

    fn shared_store(&self) -> bool {
        self.shared
    }

    fn known_vary(&self, uri: &Key) -> Option<Arc<[String]>> {
        self.known_vary.lock().get(uri).cloned()
    }

    fn variant_key(&self, uri: &Key, names: &[String]) -> Key {
        let mut builder = KeyBuilder::extend(uri);
        for name in names {
            builder.vary(name, self.headers.get(name).map(String::as_bytes));
        }
        builder.finish()
    }

    fn look_pair(
        &self,
        _: &mut Budget,
        uri: &Key,
        variant: &Key,
        now: i64,
    ) -> Result<(Looked<Page>, Looked<Page>), Failure> {
        self.counts.pairs.fetch_add(1, Ordering::SeqCst);
        self.fails()?;
        let first = self.look(uri, now);
        self.remember(uri, &first);
        Ok((first, self.look(variant, now)))
    }

    fn look_or_lock(
        &self,
        _: &mut Budget,
        key: &Key,
        now: i64,
        lock: Option<(&str, Duration)>,
    ) -> Result<(Looked<Page>, bool), Failure> {
        self.counts.lookups.fetch_add(1, Ordering::SeqCst);
        if lock.is_some() {
            self.counts
                .lookups_with_token
                .fetch_add(1, Ordering::SeqCst);
        }
        self.fails()?;
        let looked = self.look(key, now);
        if let (Looked::Missing, Some((token, _))) = (&looked, lock) {
            let mut store = self.store.lock();
            if !store.locks.contains_key(key) {
                store.locks.insert(key.clone(), token.to_owned());
                return Ok((Looked::Missing, true));
            }
        }
        Ok((looked, false))
    }

    fn remember(&self, uri: &Key, looked: &Looked<Page>) {
        if !self.shared {
            return;
        }
        let mut known = self.known_vary.lock();
        match looked {
            Looked::Vary(names) => known.insert(uri.clone(), names.clone()),
            _ => known.remove(uri),
        };
    }

    fn refused(&self, _: &Refusal) {
        self.counts.refusals.fetch_add(1, Ordering::SeqCst);
    }

    fn lock(&self, _: &mut Budget, key: &Key, token: &str, _: Duration) -> Result<bool, Failure> {
        self.counts.locks.fetch_add(1, Ordering::SeqCst);
        let mut store = self.store.lock();
        if store.down || store.lock_fails {
            return Err(outage());
        }
        if store.locks.contains_key(key) {
            return Ok(false);
        }
        store.locks.insert(key.clone(), token.to_owned());
        Ok(true)
    }

    fn unlock(&self, key: &Key, token: &str) -> Result<(), Failure> {
        self.counts.unlocks.fetch_add(1, Ordering::SeqCst);
        let mut store = self.store.lock();
        if store.locks.get(key).is_some_and(|holder| holder == token) {
            store.locks.remove(key);
        }
        Ok(())
    }

    fn wait_for_lock(&self, _: &Key, until: Instant) -> Result<LockState, Failure> {
        self.counts.lock_waits.fetch_add(1, Ordering::SeqCst);
        let other = self.on_lock_wait.lock().pop_front();
        match other {
            Some(other) => other(&mut self.store.lock()),
            // The other process holds its lock past `until`.
            None => {
                thread::sleep(until.saturating_duration_since(Instant::now()));
                Ok(LockState::Held)
            }
        }
    }

    fn wait_for_flight(&self, flight: &Flight, until: Instant) -> Option<Landed> {
        self.counts.flight_waits.fetch_add(1, Ordering::SeqCst);
        if let Some(tell) = self.waiting.lock().as_ref() {
            let _ = tell.send(());
        }
        flight.wait(until)
    }

    fn report(&self, _: &Failure) {
        self.counts.reports.fetch_add(1, Ordering::SeqCst);
    }
}

fn uri() -> Key {
    KeyBuilder::new("http", "example.com", "", "/k", "").finish()
}

fn config(single_flight_timeout_ms: u64) -> CacheConfig {
    CacheConfig {
        policy: Policy {
            statuses: vec![200],
            default_ttl: 60,
        },
        max_bytes: 1 << 20,
        max_entry_bytes: 1 << 10,
        status_header: Some("X-Cache".to_owned()),
        single_flight: true,
        single_flight_timeout: Duration::from_millis(single_flight_timeout_ms),
        request_directives: RequestDirectives::Ignore,
        store_url: None,
        key_prefix: "t:".to_owned(),
        store_timeout: Duration::from_secs(1),
        tag_header: None,
        stale_defaults: (0, 0),
    }
}

const LONG: u64 = 10_000;

fn honoring() -> CacheConfig {
    CacheConfig {
        request_directives: RequestDirectives::Honor,
        ..config(LONG)
    }
}

fn get(uri: &Key) -> Asked<'_> {
    Asked {
        method: Method::Get,
        facts: RequestFacts::default(),
        uri,
        conditional: false,
        has_range: false,
    }
}

fn with_cache_control<'a>(uri: &'a Key, value: &str) -> Asked<'a> {
    let mut asked = get(uri);
    asked.facts.cache_control = CacheControl::parse(Some(value));
    asked.facts.has_cache_control = true;
    asked
}

/// How a route came out, in a form a table compares.
#[derive(Debug, PartialEq, Eq)]
enum Went {
    Hit {
        id: u32,
        seconds: u64,
    },
    Stale {
        id: u32,
    },
    /// The app answers: its label, and what storing its response holds.
    App {
        label: &'static str,
        store: Option<Storing>,
        invalidates: bool,
    },
}

#[derive(Debug, PartialEq, Eq)]
struct Storing {
    leads: bool,
    /// The key of the shared flight lock held.
    remote_lock: Option<Key>,
    /// The stale entry kept for stale-if-error.
    stale: Option<u32>,
}

/// A route's outcome, and the flight guard it holds (dropped by the caller when it wants).
fn outcome(route: Route<Page>) -> (Went, Option<FlightGuard>) {
    match route {
        Route::Serve {
            stored,
            seconds,
            label,
        } => match label {
            HIT => (
                Went::Hit {
                    id: stored.id,
                    seconds,
                },
                None,
            ),
            STALE => (Went::Stale { id: stored.id }, None),
            other => unreachable!("a served label is HIT or STALE, not {other}"),
        },
        Route::App(forward) => {
            let mut guard = None;
            let store = forward.store.map(|store| {
                let storing = Storing {
                    leads: store.guard.is_some(),
                    remote_lock: store.remote_lock.map(|(key, _)| key),
                    stale: store.stale.map(|(page, _)| page.id),
                };
                guard = store.guard;
                storing
            });
            let went = Went::App {
                label: forward.label,
                store,
                invalidates: forward.invalidate.is_some(),
            };
            (went, guard)
        }
    }
}

fn run(fake: &Fake, flights: &Arc<Flights>, config: &CacheConfig, asked: &Asked<'_>) -> Went {
    outcome(route(fake, flights, config, asked)).0
}

fn miss(leads: bool, remote_lock: Option<Key>, stale: Option<u32>) -> Went {
    Went::App {
        label: MISS,
        store: Some(Storing {
            leads,
            remote_lock,
            stale,
        }),
        invalidates: false,
    }
}

const BYPASSED: Went = Went::App {
    label: BYPASS,
    store: None,
    invalidates: false,
};

const MISS_NOT_STORED: Went = Went::App {
    label: MISS,
    store: None,
    invalidates: false,
};

/// The flight of `key` led from another thread; its guard, to land or drop.
fn led_elsewhere(flights: &Arc<Flights>, key: &Key) -> FlightGuard {
    let joined = thread::scope(|scope| {
        scope
            .spawn(|| flights.join(key, Duration::from_millis(LONG)))
            .join()
    });
    let Ok(Join::Lead(guard)) = joined else {
        unreachable!("nobody leads yet")
    };
    guard
}

/// Runs `request` on another thread; once it waits for the flight, `meanwhile` runs here.
fn while_waiting(
    fake: &Fake,
    flights: &Arc<Flights>,
    config: &CacheConfig,
    request: &Asked<'_>,
    meanwhile: impl FnOnce(),
) -> Went {
    let told = fake.watch_waits();
    thread::scope(|scope| {
        let waiter = scope.spawn(|| run(fake, flights, config, request));
        let Ok(()) = told.recv_timeout(Duration::from_secs(5)) else {
            unreachable!("the request waits for the flight")
        };
        meanwhile();
        match waiter.join() {
            Ok(went) => went,
            Err(_) => unreachable!("the waiter does not panic"),
        }
    })
}

// ------------------------------------------------------------------ hits and misses

#[test]
fn a_fresh_entry_is_served_with_its_age() {
    let uri = uri();
    let stored = Page { age: 5, ..PAGE };
    let fake = Fake::memory().holding(&uri, Holds::Fresh(stored, 3));
    let flights = Arc::new(Flights::default());
    let went = run(&fake, &flights, &config(LONG), &get(&uri));
    assert_eq!(went, Went::Hit { id: 1, seconds: 8 });
    assert_eq!(count(&fake.counts.lookups), 1);
    assert!(flights.is_empty());
}

#[test]
fn a_miss_leads_the_flight_and_its_response_is_stored() {
    let uri = uri();
    let fake = Fake::memory();
    let flights = Arc::new(Flights::default());
    let (went, guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(went, miss(true, None, None));
    assert_eq!(flights.len(), 1, "the leader's flight is in progress");
    drop(guard);
    assert!(flights.is_empty());
}

#[test]
fn without_single_flight_a_miss_leads_nothing() {
    let uri = uri();
    let fake = Fake::redis();
    let flights = Arc::new(Flights::default());
    let solo = CacheConfig {
        single_flight: false,
        ..config(LONG)
    };
    assert_eq!(
        run(&fake, &flights, &solo, &get(&uri)),
        miss(false, None, None)
    );
    assert_eq!(count(&fake.counts.lookups_with_token), 0);
    assert!(flights.is_empty());
}

#[test]
fn the_thread_that_leads_never_waits_on_itself() {
    let uri = uri();
    let fake = Fake::memory();
    let flights = Arc::new(Flights::default());
    let (first, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(first, miss(true, None, None));
    let again = run(&fake, &flights, &config(LONG), &get(&uri));
    assert_eq!(again, miss(false, None, None));
    assert_eq!(count(&fake.counts.flight_waits), 0);
}

#[test]
fn unsafe_methods_invalidate_and_other_safe_ones_bypass_without_a_lookup() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    let post = Asked {
        method: Method::Unsafe,
        ..get(&uri)
    };
    let options = Asked {
        method: Method::OtherSafe,
        ..get(&uri)
    };
    let invalidating = Went::App {
        label: BYPASS,
        store: None,
        invalidates: true,
    };
    assert_eq!(run(&fake, &flights, &config(LONG), &post), invalidating);
    assert_eq!(run(&fake, &flights, &config(LONG), &options), BYPASSED);
    assert_eq!(count(&fake.counts.lookups), 0);
}

// ------------------------------------------------------------------ the shared flight lock

#[test]
fn on_a_shared_store_a_miss_takes_the_lock_in_its_lookups_round_trip() {
    let uri = uri();
    let fake = Fake::redis();
    let flights = Arc::new(Flights::default());
    let (went, guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(went, miss(true, Some(uri.clone()), None));
    assert_eq!(count(&fake.counts.lookups), 1);
    assert_eq!(count(&fake.counts.locks), 0, "no command of its own");
    assert!(fake.lock_holder(&uri).is_some_and(|holder| holder != OTHER));
    drop(guard);
}

#[test]
fn a_lock_another_process_holds_is_waited_for_and_the_entry_it_stored_is_served() {
    let uri = uri();
    let stored_uri = uri.clone();
    let fake = Fake::redis()
        .locked_elsewhere(&uri)
        .then_on_lock_wait(move |store| {
            store
                .entries
                .insert(stored_uri.clone(), Holds::Fresh(PAGE, 0));
            store.locks.remove(&stored_uri);
            Ok(LockState::Free)
        });
    let flights = Arc::new(Flights::default());
    let went = run(&fake, &flights, &config(LONG), &get(&uri));
    assert_eq!(went, Went::Hit { id: 1, seconds: 0 });
    assert_eq!(count(&fake.counts.locks), 1);
    assert_eq!(count(&fake.counts.lock_waits), 1);
    assert_eq!(count(&fake.counts.lookups), 2);
    assert!(
        flights.is_empty(),
        "this process's flight landed for its waiters"
    );
}

#[test]
fn a_lock_found_free_with_nothing_stored_makes_this_request_lead() {
    let uri = uri();
    let freed = uri.clone();
    let fake = Fake::redis()
        .locked_elsewhere(&uri)
        .then_on_lock_wait(move |store| {
            // The other process failed: its lock is gone, nothing was stored.
            store.locks.remove(&freed);
            Ok(LockState::Free)
        });
    let flights = Arc::new(Flights::default());
    let (went, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(went, miss(true, Some(uri.clone()), None));
    assert_eq!(
        count(&fake.counts.lookups_with_token),
        2,
        "taken in the second lookup"
    );
    assert_eq!(count(&fake.counts.locks), 1);
}

#[test]
fn a_pass_is_a_miss_that_takes_no_lock() {
    let uri = uri();
    let fake = Fake::redis()
        .locked_elsewhere(&uri)
        .then_on_lock_wait(|_| Ok(LockState::Pass));
    let flights = Arc::new(Flights::default());
    let (went, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    // This process's waiters still wait for its response (it keeps the guard).
    assert_eq!(went, miss(true, None, None));
    assert_eq!(count(&fake.counts.lookups), 2);
    assert_eq!(
        count(&fake.counts.lookups_with_token),
        1,
        "no lock after a pass"
    );
}

#[test]
fn waiting_gives_up_after_twice_single_flight_timeout_and_the_app_answers() {
    let uri = uri();
    // The other process holds its lock past every wait.
    let fake = Fake::redis().locked_elsewhere(&uri);
    let flights = Arc::new(Flights::default());
    let started = Instant::now();
    let (went, _guard) = outcome(route(&fake, &flights, &config(40), &get(&uri)));
    let waited = started.elapsed();
    assert_eq!(went, miss(true, None, None));
    assert!(waited >= Duration::from_millis(80), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(count(&fake.counts.lock_waits), 1);
    assert_eq!(count(&fake.counts.reports), 0);
}

#[test]
fn a_lock_taken_in_the_lookup_leads_across_processes_though_another_thread_leads_here() {
    let uri = uri();
    let fake = Fake::redis();
    let flights = Arc::new(Flights::default());
    let _other_thread = led_elsewhere(&flights, &uri);
    let went = run(&fake, &flights, &config(LONG), &get(&uri));
    assert_eq!(went, miss(false, Some(uri.clone()), None));
    assert_eq!(count(&fake.counts.flight_waits), 0);
}

// ------------------------------------------------------------------ failed and hung leaders

/// Requests for one key on `waiters` threads while `leader` leads; `end` ends the leader's
/// flight once they all wait. Each that leads after it stores a page and lands. Returns how
/// many led, and the outcomes of the others.
fn after_the_leader(
    fake: &Fake,
    flights: &Arc<Flights>,
    config: &CacheConfig,
    leader: FlightGuard,
    end: impl FnOnce(FlightGuard),
) -> (usize, Vec<Went>) {
    let uri = uri();
    let told = fake.watch_waits();
    let waiters = 6;
    let outcomes = thread::scope(|scope| {
        let running: Vec<_> = (0..waiters)
            .map(|_| {
                scope.spawn(|| {
                    let (went, guard) = outcome(route(fake, flights, config, &get(&uri)));
                    if let Some(guard) = guard {
                        // Store, then land: every other waiter then finds the entry.
                        thread::sleep(Duration::from_millis(30));
                        fake.put(&uri, Holds::Fresh(Page { id: 2, ..PAGE }, 0));
                        guard.land(Landed::Stored);
                    }
                    went
                })
            })
            .collect();
        for _ in 0..waiters {
            let Ok(()) = told.recv_timeout(Duration::from_secs(5)) else {
                unreachable!("every request waits for the leader")
            };
        }
        end(leader);
        running
            .into_iter()
            .map(|waiter| match waiter.join() {
                Ok(went) => went,
                Err(_) => unreachable!("a waiter does not panic"),
            })
            .collect::<Vec<_>>()
    });
    let (led, served): (Vec<_>, Vec<_>) = outcomes
        .into_iter()
        .partition(|went| *went == miss(true, None, None));
    (led.len(), served)
}

#[test]
fn when_the_leader_fails_exactly_one_waiter_leads() {
    let fake = Fake::memory();
    let flights = Arc::new(Flights::default());
    let leader = led_elsewhere(&flights, &uri());
    let (led, served) = after_the_leader(&fake, &flights, &config(LONG), leader, drop);
    assert_eq!(led, 1);
    assert!(served
        .iter()
        .all(|went| *went == Went::Hit { id: 2, seconds: 0 }));
    assert!(flights.is_empty());
}

#[test]
fn when_the_leaders_lease_ends_exactly_one_waiter_leads() {
    let fake = Fake::memory();
    let flights = Arc::new(Flights::default());
    let lease = Duration::from_millis(300);
    let joined = thread::scope(|scope| scope.spawn(|| flights.join(&uri(), lease)).join());
    let Ok(Join::Lead(hung)) = joined else {
        unreachable!("nobody leads yet")
    };
    // The hung leader never lands while its waiters decide.
    let (led, served) = after_the_leader(&fake, &flights, &config(LONG), hung, |hung| {
        thread::sleep(Duration::from_millis(600));
        drop(hung);
    });
    assert_eq!(led, 1);
    assert!(served
        .iter()
        .all(|went| *went == Went::Hit { id: 2, seconds: 0 }));
}

// ------------------------------------------------------------------ RFC 5861

#[test]
fn stale_while_revalidate_answers_while_another_request_refreshes() {
    let uri = uri();
    let stored = Page {
        stale_while_revalidate: 60,
        ..PAGE
    };
    let fake = Fake::memory().holding(&uri, Holds::Stale(stored, 70, 10_000));
    let flights = Arc::new(Flights::default());
    let _refreshing = led_elsewhere(&flights, &uri);
    assert_eq!(
        run(&fake, &flights, &config(LONG), &get(&uri)),
        Went::Stale { id: 1 }
    );
    assert_eq!(count(&fake.counts.flight_waits), 0, "answered at once");
}

#[test]
fn stale_while_revalidate_answers_while_another_process_refreshes() {
    let uri = uri();
    let stored = Page {
        stale_while_revalidate: 60,
        ..PAGE
    };
    let fake = Fake::redis()
        .holding(&uri, Holds::Stale(stored, 70, 10_000))
        .locked_elsewhere(&uri);
    let flights = Arc::new(Flights::default());
    assert_eq!(
        run(&fake, &flights, &config(LONG), &get(&uri)),
        Went::Stale { id: 1 }
    );
    assert_eq!(count(&fake.counts.lock_waits), 0, "answered at once");
    assert!(flights.is_empty());
}

#[test]
fn a_stale_entry_is_refreshed_by_one_request_that_keeps_it_for_stale_if_error() {
    let uri = uri();
    let stored = Page {
        stale_while_revalidate: 60,
        stale_if_error: 60,
        ..PAGE
    };
    let fake = Fake::memory().holding(&uri, Holds::Stale(stored, 70, 10_000));
    let flights = Arc::new(Flights::default());
    let went = run(&fake, &flights, &config(LONG), &get(&uri));
    assert_eq!(went, miss(true, None, Some(1)));
}

#[test]
fn a_stale_entry_past_its_stale_if_error_window_is_not_kept_for_it() {
    let uri = uri();
    let stored = Page {
        stale_if_error: 5,
        ..PAGE
    };
    let fake = Fake::memory().holding(&uri, Holds::Stale(stored, 70, 10_000));
    let flights = Arc::new(Flights::default());
    assert_eq!(
        run(&fake, &flights, &config(LONG), &get(&uri)),
        miss(true, None, None)
    );
}

#[test]
fn stale_if_error_answers_the_waiters_of_a_failed_flight() {
    let uri = uri();
    let stored = Page {
        stale_if_error: 60,
        ..PAGE
    };
    let fake = Fake::memory().holding(&uri, Holds::Stale(stored, 70, 10_000));
    let flights = Arc::new(Flights::default());
    let leader = led_elsewhere(&flights, &uri);
    let went = while_waiting(&fake, &flights, &config(LONG), &get(&uri), || drop(leader));
    assert_eq!(went, Went::Stale { id: 1 });
    assert!(flights.is_empty(), "the waiter did not lead");
}

#[test]
fn a_stale_entry_is_not_served_to_a_refresh() {
    let uri = uri();
    let stored = Page {
        stale_while_revalidate: 60,
        ..PAGE
    };
    let fake = Fake::memory().holding(&uri, Holds::Stale(stored, 70, 10_000));
    let flights = Arc::new(Flights::default());
    let refreshing = led_elsewhere(&flights, &uri);
    let refresh = with_cache_control(&uri, "no-cache");
    let went = while_waiting(&fake, &flights, &honoring(), &refresh, || {
        fake.put(&uri, Holds::Fresh(Page { id: 2, ..PAGE }, 0));
        drop(refreshing);
    });
    // The flight failed; what another request stored meanwhile answers.
    assert_eq!(went, Went::Hit { id: 2, seconds: 0 });
}

// ------------------------------------------------------------------ failures

#[test]
fn a_store_that_fails_is_a_bypass_reported_once() {
    let uri = uri();
    let fake = Fake::redis();
    fake.store.lock().down = true;
    let flights = Arc::new(Flights::default());
    assert_eq!(run(&fake, &flights, &config(LONG), &get(&uri)), BYPASSED);
    assert_eq!(count(&fake.counts.reports), 1);
    assert!(flights.is_empty());
}

#[test]
fn a_lock_command_that_fails_is_a_bypass_reported_once_and_the_flight_lands() {
    let uri = uri();
    let fake = Fake::redis().locked_elsewhere(&uri);
    fake.store.lock().lock_fails = true;
    let flights = Arc::new(Flights::default());
    assert_eq!(run(&fake, &flights, &config(LONG), &get(&uri)), BYPASSED);
    assert_eq!(count(&fake.counts.reports), 1);
    assert!(flights.is_empty());
}

#[test]
fn a_lock_poll_that_fails_is_a_bypass_reported_once_and_the_flight_lands() {
    let uri = uri();
    let fake = Fake::redis()
        .locked_elsewhere(&uri)
        .then_on_lock_wait(|_| Err(outage()));
    let flights = Arc::new(Flights::default());
    assert_eq!(run(&fake, &flights, &config(LONG), &get(&uri)), BYPASSED);
    assert_eq!(count(&fake.counts.reports), 1);
    assert!(flights.is_empty());
}

#[test]
fn a_refused_record_is_a_miss_that_leads_and_is_reported() {
    let uri = uri();
    let fake = Fake::redis().holding(&uri, Holds::Refused);
    let flights = Arc::new(Flights::default());
    let (went, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    // A refused record is found, not missing: the lock is taken by a command of its own.
    assert_eq!(went, miss(true, Some(uri.clone()), None));
    assert_eq!(count(&fake.counts.refusals), 1);
}

// ------------------------------------------------------------------ Authorization (§3.5)

#[test]
fn authorization_gets_only_shareable_entries_and_leads_no_flight() {
    let uri = uri();
    let mut asked = get(&uri);
    asked.facts.authorization = true;
    let flights = Arc::new(Flights::default());
    let storable_bypass = Went::App {
        label: BYPASS,
        store: Some(Storing {
            leads: false,
            remote_lock: None,
            stale: None,
        }),
        invalidates: false,
    };
    let private = Fake::redis().holding(&uri, Holds::Fresh(PAGE, 0));
    assert_eq!(
        run(&private, &flights, &config(LONG), &asked),
        storable_bypass
    );
    let public = Page {
        shareable: true,
        ..PAGE
    };
    let shareable = Fake::redis().holding(&uri, Holds::Fresh(public, 0));
    assert_eq!(
        run(&shareable, &flights, &config(LONG), &asked),
        Went::Hit { id: 1, seconds: 0 }
    );
    let empty = Fake::redis();
    assert_eq!(
        run(&empty, &flights, &config(LONG), &asked),
        storable_bypass
    );
    assert_eq!(count(&empty.counts.lookups_with_token), 0, "no lock taken");
    assert!(flights.is_empty());
}

// ------------------------------------------------------------------ request directives

#[test]
fn ignored_request_directives_get_the_stored_entry() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 30));
    let flights = Arc::new(Flights::default());
    for value in ["no-cache", "max-age=0", "max-age=10"] {
        let asked = with_cache_control(&uri, value);
        assert_eq!(
            run(&fake, &flights, &config(LONG), &asked),
            Went::Hit { id: 1, seconds: 30 },
            "{value}"
        );
    }
}

#[test]
fn an_ignored_no_store_misses_without_leading_or_storing() {
    let uri = uri();
    let fake = Fake::redis();
    let flights = Arc::new(Flights::default());
    let asked = with_cache_control(&uri, "no-store");
    assert_eq!(run(&fake, &flights, &config(LONG), &asked), MISS_NOT_STORED);
    assert_eq!(count(&fake.counts.lookups_with_token), 0);
    assert!(flights.is_empty());
}

#[test]
fn an_honoured_no_store_bypasses_without_a_lookup() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    let asked = with_cache_control(&uri, "no-store");
    assert_eq!(run(&fake, &flights, &honoring(), &asked), BYPASSED);
    assert_eq!(count(&fake.counts.lookups), 0);
}

#[test]
fn an_honoured_refresh_passes_a_fresh_entry_and_leads() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    for value in ["no-cache", "max-age=0"] {
        let asked = with_cache_control(&uri, value);
        assert_eq!(
            run(&fake, &flights, &honoring(), &asked),
            miss(true, None, None),
            "{value}"
        );
    }
}

#[test]
fn an_honoured_max_age_passes_older_entries_only() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 30));
    let flights = Arc::new(Flights::default());
    let young_enough = with_cache_control(&uri, "max-age=60");
    assert_eq!(
        run(&fake, &flights, &honoring(), &young_enough),
        Went::Hit { id: 1, seconds: 30 }
    );
    let too_old = with_cache_control(&uri, "max-age=10");
    assert_eq!(
        run(&fake, &flights, &honoring(), &too_old),
        miss(true, None, None)
    );
}

#[test]
fn a_refresh_coalesced_on_a_flight_takes_the_new_entry() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    let leader = led_elsewhere(&flights, &uri);
    let refresh = with_cache_control(&uri, "no-cache");
    let went = while_waiting(&fake, &flights, &honoring(), &refresh, || {
        fake.put(&uri, Holds::Fresh(Page { id: 2, ..PAGE }, 1));
        leader.land(Landed::Stored);
    });
    // Its age rounded up past max-age=0: still the response it was coalesced on.
    assert_eq!(went, Went::Hit { id: 2, seconds: 1 });
}

#[test]
fn a_refresh_that_finds_the_refused_entry_again_calls_the_app() {
    let uri = uri();
    let fake = Fake::memory().holding(&uri, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    let leader = led_elsewhere(&flights, &uri);
    let refresh = with_cache_control(&uri, "no-cache");
    let went = while_waiting(&fake, &flights, &honoring(), &refresh, || {
        leader.land(Landed::Stored);
    });
    assert_eq!(went, miss(false, None, None));
}

// ------------------------------------------------------------------ HEAD, conditional, Range

/// A HEAD, a conditional GET and a Range GET of `uri`: requests that never lead a flight.
fn never_leading(uri: &Key) -> [Asked<'_>; 3] {
    [
        Asked {
            method: Method::Head,
            ..get(uri)
        },
        Asked {
            conditional: true,
            ..get(uri)
        },
        Asked {
            has_range: true,
            ..get(uri)
        },
    ]
}

#[test]
fn head_conditional_and_range_requests_never_lead() {
    let uri = uri();
    let [head, conditional, range] = never_leading(&uri);
    // A conditional GET's response is stored (the app may answer it 200), without leading.
    let table = [
        (head, MISS_NOT_STORED),
        (conditional, miss(false, None, None)),
        (range, MISS_NOT_STORED),
    ];
    for (asked, expected) in table {
        let fake = Fake::redis();
        let flights = Arc::new(Flights::default());
        assert_eq!(run(&fake, &flights, &config(LONG), &asked), expected);
        assert_eq!(count(&fake.counts.lookups_with_token), 0);
        assert_eq!(count(&fake.counts.locks), 0);
        assert!(flights.is_empty());
    }
}

#[test]
fn head_conditional_and_range_requests_wait_for_a_flight_in_progress() {
    let uri = uri();
    let [head, conditional, range] = never_leading(&uri);
    for asked in [head, conditional, range] {
        let fake = Fake::memory();
        let flights = Arc::new(Flights::default());
        let leader = led_elsewhere(&flights, &uri);
        let went = while_waiting(&fake, &flights, &config(LONG), &asked, || {
            fake.put(&uri, Holds::Fresh(PAGE, 0));
            leader.land(Landed::Stored);
        });
        assert_eq!(went, Went::Hit { id: 1, seconds: 0 });
        assert_eq!(count(&fake.counts.flight_waits), 1);
    }
}

// ------------------------------------------------------------------ Vary

fn varying(fake: Fake, uri: &Key) -> (Fake, Key) {
    let names: Arc<[String]> = vec!["accept-encoding".to_owned()].into();
    let fake = Fake {
        headers: HashMap::from([("accept-encoding".to_owned(), "gzip".to_owned())]),
        ..fake
    };
    let variant = fake.variant_key(uri, &names);
    (fake.holding(uri, Holds::Vary(names)), variant)
}

#[test]
fn a_varying_uri_is_looked_up_under_its_variant() {
    let uri = uri();
    let (fake, variant) = varying(Fake::memory(), &uri);
    fake.put(&variant, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    assert_eq!(
        run(&fake, &flights, &config(LONG), &get(&uri)),
        Went::Hit { id: 1, seconds: 0 }
    );
    assert_eq!(count(&fake.counts.lookups), 2);
    assert_eq!(count(&fake.counts.pairs), 0);
}

#[test]
fn a_missing_variant_leads_under_its_own_key() {
    let uri = uri();
    let (fake, variant) = varying(Fake::redis(), &uri);
    let flights = Arc::new(Flights::default());
    let (went, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(went, miss(true, Some(variant), None));
}

#[test]
fn a_uri_seen_varying_on_a_shared_store_is_looked_up_with_its_variant_in_one_trip() {
    let uri = uri();
    let (fake, variant) = varying(Fake::redis(), &uri);
    fake.put(&variant, Holds::Fresh(PAGE, 0));
    let flights = Arc::new(Flights::default());
    let hit = Went::Hit { id: 1, seconds: 0 };
    assert_eq!(run(&fake, &flights, &config(LONG), &get(&uri)), hit);
    assert_eq!(count(&fake.counts.lookups), 2, "the URI, then its variant");
    assert_eq!(run(&fake, &flights, &config(LONG), &get(&uri)), hit);
    assert_eq!(count(&fake.counts.pairs), 1, "both in one trip");
    assert_eq!(count(&fake.counts.lookups), 2);
}

#[test]
fn a_known_variant_missing_is_looked_up_again_taking_the_lock() {
    let uri = uri();
    let (fake, variant) = varying(Fake::redis(), &uri);
    let names: Arc<[String]> = vec!["accept-encoding".to_owned()].into();
    fake.known_vary.lock().insert(uri.clone(), names);
    let flights = Arc::new(Flights::default());
    let (went, _guard) = outcome(route(&fake, &flights, &config(LONG), &get(&uri)));
    assert_eq!(went, miss(true, Some(variant), None));
    assert_eq!(count(&fake.counts.pairs), 1);
    assert_eq!(count(&fake.counts.lookups_with_token), 1);
}

#[test]
fn a_uri_that_stopped_varying_is_served_from_its_own_record() {
    let uri = uri();
    let fake = Fake::redis().holding(&uri, Holds::Fresh(PAGE, 0));
    let names: Arc<[String]> = vec!["accept-encoding".to_owned()].into();
    fake.known_vary.lock().insert(uri.clone(), names);
    let flights = Arc::new(Flights::default());
    assert_eq!(
        run(&fake, &flights, &config(LONG), &get(&uri)),
        Went::Hit { id: 1, seconds: 0 }
    );
    assert!(fake.known_vary.lock().is_empty(), "forgotten");
}
