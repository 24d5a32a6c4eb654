//! Unit tests for `flight.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use super::super::key::KeyBuilder;
use super::*;

fn key(path: &str) -> Key {
    KeyBuilder::new("http", "h", "", path, "").finish()
}

const LONG: Duration = Duration::from_secs(10);

fn far() -> Instant {
    Instant::now() + LONG
}

/// The flight of `path` as another thread joins it (the leading thread would get `Own`).
fn joined_elsewhere(flights: &Arc<Flights>, path: &str) -> Arc<Flight> {
    let joined = std::thread::scope(|scope| {
        scope
            .spawn(|| match flights.join(&key(path), LONG) {
                Join::Wait(flight) => flight,
                _ => unreachable!("the flight is in progress"),
            })
            .join()
    });
    let Ok(flight) = joined else {
        unreachable!("the joining thread does not panic")
    };
    flight
}

fn lead(flights: &Arc<Flights>, path: &str, lease: Duration) -> FlightGuard {
    match flights.join(&key(path), lease) {
        Join::Lead(guard) => guard,
        _ => unreachable!("the first join leads"),
    }
}

#[test]
fn one_leader_many_waiters_all_released_when_the_flight_lands() {
    let flights = Arc::new(Flights::default());
    let leaders = AtomicUsize::new(0);
    let released = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                barrier.wait();
                match flights.join(&key("/a"), LONG) {
                    Join::Lead(guard) => {
                        leaders.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        guard.land(Landed::Stored);
                    }
                    Join::Wait(flight) => {
                        if flight.wait(far()) == Some(Landed::Stored) {
                            released.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Join::Own => unreachable!("different threads"),
                }
            });
        }
    });
    // Threads that arrive after the leader landed lead a flight of their own.
    let leaders = leaders.load(Ordering::SeqCst);
    assert!(leaders >= 1);
    assert_eq!(leaders + released.load(Ordering::SeqCst), 8);
    assert!(flights.is_empty());
}

#[test]
fn waiting_is_bounded_by_the_waiters_own_time() {
    let flights = Arc::new(Flights::default());
    let guard = lead(&flights, "/slow", LONG);
    let waited = std::thread::scope(|scope| {
        scope
            .spawn(|| match flights.join(&key("/slow"), LONG) {
                Join::Wait(flight) => {
                    let start = Instant::now();
                    let landed = flight.wait(Instant::now() + Duration::from_millis(30));
                    (landed, start.elapsed())
                }
                _ => unreachable!("the flight is in progress"),
            })
            .join()
    });
    let Ok((landed, elapsed)) = waited else {
        unreachable!("the waiter does not panic")
    };
    assert_eq!(landed, None);
    assert!(elapsed >= Duration::from_millis(30));
    drop(guard);
    assert!(flights.is_empty());
}

#[test]
fn a_guard_dropped_without_landing_is_a_failed_flight() {
    let flights = Arc::new(Flights::default());
    let guard = lead(&flights, "/raise", LONG);
    let flight = joined_elsewhere(&flights, "/raise");
    drop(guard);
    assert_eq!(flight.wait(far()), Some(Landed::Failed));
}

#[test]
fn a_pass_lets_every_waiter_go() {
    let flights = Arc::new(Flights::default());
    let guard = lead(&flights, "/private", LONG);
    let flight = joined_elsewhere(&flights, "/private");
    guard.land(Landed::Pass);
    assert_eq!(flight.wait(far()), Some(Landed::Pass));
    assert!(flights.is_empty());
}

/// The waiters of a failed flight join again: exactly one leads, the rest wait for it.
fn rejoin_after(failure: impl FnOnce(FlightGuard) + Send, lease: Duration) -> (usize, usize) {
    let flights = Arc::new(Flights::default());
    let guard = lead(&flights, "/k", lease);
    let leaders = AtomicUsize::new(0);
    let waiting = AtomicUsize::new(0);
    let joined = Barrier::new(9);
    let decided = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let Join::Wait(flight) = flights.join(&key("/k"), LONG) else {
                    unreachable!("the first leader is in flight")
                };
                joined.wait();
                assert_eq!(flight.wait(far()), Some(Landed::Failed));
                let next = flights.join(&key("/k"), LONG);
                match &next {
                    Join::Lead(_) => leaders.fetch_add(1, Ordering::SeqCst),
                    Join::Wait(_) => waiting.fetch_add(1, Ordering::SeqCst),
                    Join::Own => unreachable!("different threads"),
                };
                // Every waiter has joined again before the new leader lands.
                decided.wait();
                if let Join::Lead(guard) = next {
                    guard.land(Landed::Stored);
                }
            });
        }
        joined.wait();
        failure(guard);
    });
    (leaders.into_inner(), waiting.into_inner())
}

#[test]
fn when_the_leader_fails_exactly_one_waiter_takes_the_lead() {
    assert_eq!(rejoin_after(drop, LONG), (1, 7));
}

#[test]
fn when_the_leader_outlives_its_lease_exactly_one_waiter_takes_the_lead() {
    let (leaders, waiting) = rejoin_after(
        |hung| {
            // The hung leader is still running when its lease ends; it lands much later.
            std::thread::sleep(Duration::from_millis(200));
            drop(hung);
        },
        Duration::from_millis(40),
    );
    assert_eq!((leaders, waiting), (1, 7));
}

#[test]
fn a_hung_leader_landing_late_does_not_remove_its_successor() {
    let flights = Arc::new(Flights::default());
    let hung = lead(&flights, "/k", Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(5));
    let successor = std::thread::scope(|scope| {
        scope
            .spawn(|| match flights.join(&key("/k"), LONG) {
                Join::Lead(guard) => guard,
                _ => unreachable!("the lease ended: the next request leads"),
            })
            .join()
    });
    drop(hung);
    assert_eq!(flights.len(), 1, "the successor's flight stays");
    drop(successor);
    assert!(flights.is_empty());
}

#[test]
fn the_leading_thread_never_waits_on_itself() {
    let flights = Arc::new(Flights::default());
    let _guard = flights.join(&key("/a"), LONG);
    assert!(matches!(flights.join(&key("/a"), LONG), Join::Own));
    assert!(flights.in_progress(&key("/a")).is_none());
    // Other keys are independent.
    assert!(matches!(flights.join(&key("/b"), LONG), Join::Lead(_)));
}
