//! Unit tests for `appender.rs` (real files in a temporary directory).

use super::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsgi_mw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn flush(appender: &Appender, reopen: bool) -> Result<(), String> {
    appender.flush(reopen, |work| work())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn lines_reach_the_file_on_flush_and_by_themselves() {
    let dir = temp_dir("flush");
    let path = dir.join("access.log");
    let Ok(appender) = Appender::open(path.clone()) else {
        unreachable!("open")
    };
    assert_eq!(appender.append(b"one", |w| w()), None);
    assert_eq!(appender.append(b"two", |w| w()), None);
    assert_eq!(flush(&appender, false), Ok(()));
    assert_eq!(read(&path), "one\ntwo\n");
    // Without flush(): written within about a second.
    appender.append(b"three", |w| w());
    let give_up = Instant::now() + Duration::from_secs(5);
    while !read(&path).ends_with("three\n") && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read(&path), "one\ntwo\nthree\n");
}

#[test]
fn rotation_by_rename_and_by_reopen() {
    let dir = temp_dir("rotate");
    let path = dir.join("access.log");
    let Ok(appender) = Appender::open(path.clone()) else {
        unreachable!("open")
    };
    appender.append(b"before", |w| w());
    assert_eq!(flush(&appender, false), Ok(()));
    let _ = std::fs::rename(&path, dir.join("access.log.1"));
    appender.append(b"after", |w| w());
    assert_eq!(flush(&appender, false), Ok(()));
    assert_eq!(read(&dir.join("access.log.1")), "before\n");
    assert_eq!(read(&path), "after\n");
    // reopen() after a copy-and-replace keeps writing to the path's new file.
    let _ = std::fs::rename(&path, dir.join("access.log.2"));
    let _ = std::fs::write(&path, "");
    assert_eq!(flush(&appender, true), Ok(()));
    appender.append(b"again", |w| w());
    assert_eq!(flush(&appender, false), Ok(()));
    assert_eq!(read(&path), "again\n");
    assert_eq!(read(&dir.join("access.log.2")), "after\n");
}

#[test]
fn a_failing_file_is_reported_once_and_drops_lines() {
    let Ok(appender) = Appender::open(PathBuf::from("/dev/full")) else {
        return; // no /dev/full on this system
    };
    appender.append(b"lost", |w| w());
    assert_eq!(flush(&appender, false), Ok(()));
    let report = appender.append(b"lost too", |w| w());
    assert!(
        report
            .as_deref()
            .is_some_and(|r| r.contains("/dev/full") && r.contains("1 line")),
        "{report:?}"
    );
    assert_eq!(flush(&appender, false), Ok(()));
    // Still failing: not reported again.
    assert_eq!(appender.append(b"x", |w| w()), None);
}

#[test]
fn a_missing_directory_fails_at_open() {
    let dir = temp_dir("missing");
    assert!(Appender::open(dir.join("no/such/dir/access.log")).is_err());
}

#[test]
fn many_threads_write_whole_lines() {
    let dir = temp_dir("threads");
    let path = dir.join("access.log");
    let Ok(appender) = Appender::open(path.clone()) else {
        unreachable!("open")
    };
    let appender = Arc::new(appender);
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let appender = Arc::clone(&appender);
            std::thread::spawn(move || {
                for i in 0..5000 {
                    appender.append(
                        format!("thread {t} line {i} {}", "x".repeat(40)).as_bytes(),
                        |w| w(),
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    assert_eq!(flush(&appender, false), Ok(()));
    let text = read(&path);
    assert_eq!(text.lines().count(), 20_000);
    assert!(text
        .lines()
        .all(|l| l.starts_with("thread ") && l.ends_with('x')));
}
