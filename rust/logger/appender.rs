//! The file sink: lines appended to an in-memory buffer by request threads and written to
//! the file by one background thread that never touches Python (so never needs the GIL).
//!
//! - The thread writes at least every [`FLUSH_INTERVAL`], as soon as [`FLUSH_BYTES`] are
//!   buffered, and when asked ([`Appender::flush`], at interpreter exit).
//! - Rotation: before each write the path's inode is compared with the open file's; a moved or
//!   deleted file is replaced by a new one at the path. [`Appender::reopen`] forces it.
//! - Every write is whole lines, to a file opened in append mode, so several processes
//!   (pre-fork workers) can share one log.
//! - fork(): a child starts over with an empty buffer, a new thread and its own file handle;
//!   it never touches the parent's state (whose lock the parent's thread may have held).
//!   [`Appender`]'s own lock is only taken with the GIL held, and a Python `os.fork()` holds
//!   the GIL, so that lock is always free in the child.
//! - A write that fails drops those lines (the thread cannot block requests forever) and the
//!   failure is handed, once, to the next request that logs, to report on `wsgi.errors`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The longest a line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Buffered bytes that wake the writer before the interval is up.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// Buffered bytes past which request threads wait (without the GIL) for the writer to catch
/// up, so a slow disk slows requests down instead of growing memory without bound.
pub const MAX_BUFFERED: usize = 8 * 1024 * 1024;

/// An open log file and the identity of the file it is (device, inode).
struct Open {
    file: File,
    id: Option<(u64, u64)>,
}

fn open(path: &Path) -> io::Result<Open> {
    let file = OpenOptions::new().append(true).create(true).open(path)?;
    let id = file_id(&file);
    Ok(Open { file, id })
}

#[cfg(unix)]
fn file_id(file: &File) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_file: &File) -> Option<(u64, u64)> {
    None
}

/// The path no longer names the open file (rotated away or deleted).
#[cfg(unix)]
fn moved(open: &Open, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => open.id.is_some_and(|id| id != (m.dev(), m.ino())),
        Err(_) => true,
    }
}

#[cfg(not(unix))]
fn moved(_open: &Open, _path: &Path) -> bool {
    false
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// Lines in `buf`.
    lines: u64,
    /// The file, until the writer thread takes it.
    file: Option<Open>,
    started: bool,
    flush_requested: bool,
    reopen_requested: bool,
    /// The outcome of the last reopen (an error message).
    reopen_error: Option<String>,
    /// Batches the writer took / finished (one writer: they finish in order).
    taken: u64,
    finished: u64,
    shutdown: bool,
    /// Writes are failing (reported once per failing stretch).
    failing: bool,
    /// A failure not reported yet.
    report: Option<String>,
}

struct Shared {
    path: PathBuf,
    state: Mutex<State>,
    /// Wakes the writer.
    wake: Condvar,
    /// The writer finished a round (flush() and back-pressured requests wait on it).
    progress: Condvar,
}

struct Current {
    /// The fork generation (see [`forks`]) `shared` belongs to.
    forks: u64,
    shared: Arc<Shared>,
}

/// A log file appended to off the GIL. See the module docs.
pub struct Appender {
    path: PathBuf,
    /// Taken only with the GIL held (see the module docs on fork).
    current: Mutex<Current>,
}

impl Shared {
    fn new(path: PathBuf, file: Option<Open>, report: Option<String>) -> Arc<Shared> {
        Arc::new(Shared {
            path,
            state: Mutex::new(State {
                file,
                failing: report.is_some(),
                report,
                ..State::default()
            }),
            wake: Condvar::new(),
            progress: Condvar::new(),
        })
    }

    /// Start the writer thread on first use (not at construction: a pre-fork server builds
    /// the app in a parent that never logs).
    fn start(self: &Arc<Self>, state: &mut State) {
        if state.started {
            return;
        }
        state.started = true;
        let file = state.file.take();
        let shared = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("wsgi_mw-log-writer".into())
            .spawn(move || shared.run(file));
        if let Err(err) = spawned {
            state.started = false;
            let lost = state.lines;
            state.buf = Vec::new();
            state.lines = 0;
            state.report = Some(format!(
                "cannot start the log writer thread: {err}; {lost} line(s) lost"
            ));
        }
    }

    /// The writer thread.
    fn run(&self, mut file: Option<Open>) {
        let mut deadline = Instant::now() + FLUSH_INTERVAL;
        loop {
            let (data, lines, reopen, shutdown) = {
                let mut state = self.state.lock();
                while state.buf.len() < FLUSH_BYTES
                    && !state.flush_requested
                    && !state.reopen_requested
                    && !state.shutdown
                {
                    if self.wake.wait_until(&mut state, deadline).timed_out() {
                        break;
                    }
                }
                deadline = Instant::now() + FLUSH_INTERVAL;
                let lines = std::mem::take(&mut state.lines);
                let data = std::mem::take(&mut state.buf);
                state.flush_requested = false;
                let reopen = std::mem::take(&mut state.reopen_requested);
                state.taken += 1;
                (data, lines, reopen, state.shutdown)
            };
            let mut reopen_error = None;
            if reopen {
                file = None;
                match open(&self.path) {
                    Ok(opened) => file = Some(opened),
                    Err(err) => reopen_error = Some(err.to_string()),
                }
            }
            let written = if data.is_empty() {
                Ok(())
            } else {
                write(&mut file, &self.path, &data)
            };
            {
                let mut state = self.state.lock();
                state.finished = state.taken;
                if reopen {
                    state.reopen_error = reopen_error;
                }
                match written {
                    Ok(()) => state.failing = false,
                    Err(err) => {
                        if !state.failing {
                            state.failing = true;
                            state.report = Some(format!(
                                "cannot write to {}: {err}; {lines} line(s) lost",
                                self.path.display()
                            ));
                        }
                    }
                }
                self.progress.notify_all();
                if shutdown && state.buf.is_empty() {
                    state.started = false;
                    return;
                }
            }
        }
    }

    fn append(self: &Arc<Self>, line: &[u8]) -> Option<String> {
        let mut state = self.state.lock();
        self.start(&mut state);
        let before = state.buf.len();
        state.buf.reserve(line.len() + 1);
        state.buf.extend_from_slice(line);
        state.buf.push(b'\n');
        state.lines += 1;
        if before < FLUSH_BYTES && state.buf.len() >= FLUSH_BYTES {
            self.wake.notify_one();
        }
        state.report.take()
    }

    /// Wait until the writer is done with every line appended before this call (and, with
    /// `reopen`, reopened the file first). Call without the GIL.
    fn flush(self: &Arc<Self>, reopen: bool) -> Result<(), String> {
        let mut state = self.state.lock();
        if !state.started {
            if reopen {
                state.file = None;
                state.file = Some(open(&self.path).map_err(|e| e.to_string())?);
            }
            return Ok(());
        }
        // A batch taken before now may not hold our lines or our reopen: wait for a later one.
        let after = state.taken;
        state.flush_requested = true;
        if reopen {
            state.reopen_requested = true;
        }
        self.wake.notify_one();
        let give_up = Instant::now() + Duration::from_secs(30);
        while state.finished <= after && state.started {
            if self.progress.wait_until(&mut state, give_up).timed_out() {
                return Err("the log writer did not finish within 30 s".into());
            }
        }
        match state.reopen_error.take() {
            Some(err) if reopen => Err(err),
            _ => Ok(()),
        }
    }

    /// Back-pressure: wait (call without the GIL) while the buffer is over [`MAX_BUFFERED`].
    fn wait_for_room(&self) {
        let mut state = self.state.lock();
        while state.buf.len() >= MAX_BUFFERED && state.started {
            self.wake.notify_one();
            self.progress.wait_for(&mut state, FLUSH_INTERVAL);
        }
    }

    fn over_limit(&self) -> bool {
        self.state.lock().buf.len() >= MAX_BUFFERED
    }
}

/// Write `data` to the file at `path`, replacing `file` when the path names another file now.
fn write(file: &mut Option<Open>, path: &Path, data: &[u8]) -> io::Result<()> {
    if file.as_ref().is_some_and(|open| moved(open, path)) {
        *file = None;
    }
    let open = match file {
        Some(open) => open,
        None => file.insert(open(path)?),
    };
    let result = open.file.write_all(data);
    if result.is_err() {
        // Start from a fresh handle next time (the directory may come back).
        *file = None;
    }
    result
}

/// Forked children since the module loaded, counted by a `pthread_atfork` child handler:
/// a child sees a new number without asking the kernel for its pid on every line (a
/// `getpid` syscall was 4% of a logged request).
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

fn forks() -> u64 {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: the handler only does an atomic add, which is async-signal-safe, as a
        // handler run in a child of a multi-threaded process must be.
        unsafe {
            libc::pthread_atfork(None, None, Some(count_fork_in_child));
        }
    });
    FORKS.load(Ordering::Relaxed)
}

impl Appender {
    /// Open `path` for appending (created if missing); errors are the OS's.
    pub fn open(path: PathBuf) -> io::Result<Appender> {
        let file = open(&path)?;
        Ok(Appender {
            current: Mutex::new(Current {
                forks: forks(),
                shared: Shared::new(path.clone(), Some(file), None),
            }),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state of this process (a forked child gets its own). Call with the GIL held.
    fn shared(&self) -> Arc<Shared> {
        let mut current = self.current.lock();
        let generation = forks();
        if current.forks != generation {
            let (file, report) = match open(&self.path) {
                Ok(file) => (Some(file), None),
                Err(err) => (
                    None,
                    Some(format!("cannot open {}: {err}", self.path.display())),
                ),
            };
            *current = Current {
                forks: generation,
                shared: Shared::new(self.path.clone(), file, report),
            };
        }
        Arc::clone(&current.shared)
    }

    /// Append one line (a newline is added). Call with the GIL held; `wait` runs a closure
    /// without it (used only when the buffer is over its limit). Returns a failure to report.
    pub fn append(&self, line: &[u8], wait: impl FnOnce(&(dyn Fn() + Sync))) -> Option<String> {
        let shared = self.shared();
        if shared.over_limit() {
            wait(&|| shared.wait_for_room());
        }
        shared.append(line)
    }

    /// Write everything appended so far. `detach` runs the waiting without the GIL.
    pub fn flush(
        &self,
        reopen: bool,
        detach: impl FnOnce(&(dyn Fn() -> Result<(), String> + Sync)) -> Result<(), String>,
    ) -> Result<(), String> {
        let shared = self.shared();
        detach(&|| shared.flush(reopen))
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        // The writer thread writes what is left, then ends.
        let current = self.current.lock();
        if current.forks == forks() {
            let mut state = current.shared.state.lock();
            state.shutdown = true;
            current.shared.wake.notify_one();
        }
    }
}

#[cfg(test)]
#[path = "appender_tests.rs"]
mod tests;
