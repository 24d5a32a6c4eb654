//! Unit tests for `flight.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use super::super::key::KeyBuilder;
use super::*;

fn key(path: &str) -> Key {
    KeyBuilder::new("http", "h", "", path, "").finish()
}

#[test]
fn one_leader_many_waiters_all_released_when_the_guard_drops() {
    let flights = Arc::new(Flights::default());
    let leaders = AtomicUsize::new(0);
    let released = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                barrier.wait();
                match flights.join(&key("/a")) {
                    Join::Lead(guard) => {
                        leaders.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        drop(guard);
                    }
                    Join::Wait(flight) => {
                        if flight.wait(Duration::from_secs(10)) {
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
fn waiting_is_bounded() {
    let flights = Arc::new(Flights::default());
    let guard = match flights.join(&key("/slow")) {
        Join::Lead(guard) => guard,
        _ => unreachable!("first join leads"),
    };
    let waited = std::thread::scope(|scope| {
        scope
            .spawn(|| match flights.join(&key("/slow")) {
                Join::Wait(flight) => {
                    let start = Instant::now();
                    let landed = flight.wait(Duration::from_millis(30));
                    (landed, start.elapsed())
                }
                _ => unreachable!("the flight is in progress"),
            })
            .join()
    });
    let Ok((landed, elapsed)) = waited else {
        unreachable!("the waiter does not panic")
    };
    assert!(!landed);
    assert!(elapsed >= Duration::from_millis(30));
    drop(guard);
    assert!(flights.is_empty());
}

#[test]
fn the_leading_thread_never_waits_on_itself() {
    let flights = Arc::new(Flights::default());
    let _guard = flights.join(&key("/a"));
    assert!(matches!(flights.join(&key("/a")), Join::Own));
    assert!(flights.in_progress(&key("/a")).is_none());
    // Other keys are independent.
    assert!(matches!(flights.join(&key("/b")), Join::Lead(_)));
}
