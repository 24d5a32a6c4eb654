//! A file's bytes as a WSGI body: [`FileBody`] reads its part of an open file in blocks with
//! the GIL released and never past the end it was given (a range, or the size the head
//! announced). It is also file-like enough (`read`, `fileno`, `seek`, `tell`, `close`) to be
//! handed to a server's `wsgi.file_wrapper`, which may then sendfile it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The block read for each item a server pulls.
pub const BLOCK: usize = 64 * 1024;

/// Read up to `want` bytes of `file` (fewer only at its end).
pub fn read_up_to(file: &mut File, want: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The bytes `start..end` of an open file, as the server iterates them.
#[pyclass(module = "wsgi_mw._native", name = "FileBody")]
pub struct FileBody {
    file: Option<File>,
    /// Absolute offset reads stop at.
    end: u64,
}

impl FileBody {
    /// `file` positioned at the first byte to send; `end` the offset after the last one.
    pub fn new(file: File, end: u64) -> Self {
        FileBody {
            file: Some(file),
            end,
        }
    }

    fn open(&mut self) -> PyResult<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("I/O operation on closed file"))
    }

    /// Up to `want` bytes from the current position, never past `end`, off the GIL.
    fn take(&mut self, py: Python<'_>, want: Option<u64>) -> PyResult<Vec<u8>> {
        let end = self.end;
        let file = self.open()?;
        py.detach(|| {
            let position = file.stream_position()?;
            let left = end.saturating_sub(position);
            let want = want.map_or(left, |w| w.min(left));
            read_up_to(file, usize::try_from(want).unwrap_or(usize::MAX))
        })
        .map_err(|err| PyOSError::new_err(err.to_string()))
    }
}

#[pymethods]
impl FileBody {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        if self.file.is_none() {
            return Ok(None);
        }
        let block = self.take(py, Some(BLOCK as u64))?;
        if block.is_empty() {
            // The end, or the file shrank under us: the body ends short of its
            // Content-Length, and the server decides when the client learns it (wsgiref
            // and granian close at once, gunicorn at its keep-alive timeout; see
            // docs/static.md, "How a file is sent").
            return Ok(None);
        }
        Ok(Some(PyBytes::new(py, &block).unbind()))
    }

    /// Up to ``size`` bytes (all that is left when negative), never past the end.
    #[pyo3(signature = (size = -1))]
    fn read(&mut self, py: Python<'_>, size: i64) -> PyResult<Py<PyBytes>> {
        let want = u64::try_from(size).ok();
        let data = self.take(py, want)?;
        Ok(PyBytes::new(py, &data).unbind())
    }

    #[cfg(unix)]
    fn fileno(&mut self) -> PyResult<i32> {
        use std::os::fd::AsRawFd;
        Ok(self.open()?.as_raw_fd())
    }

    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&mut self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let to = match whence {
            0 => SeekFrom::Start(
                u64::try_from(offset).map_err(|_| PyValueError::new_err("negative seek"))?,
            ),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(PyValueError::new_err("whence must be 0, 1 or 2")),
        };
        let file = self.open()?;
        py.detach(|| file.seek(to))
            .map_err(|err| PyOSError::new_err(err.to_string()))
    }

    fn tell(&mut self) -> PyResult<u64> {
        self.open()?
            .stream_position()
            .map_err(|err| PyOSError::new_err(err.to_string()))
    }

    fn seekable(&self) -> bool {
        true
    }

    fn readable(&self) -> bool {
        true
    }

    /// Close the file (PEP 3333: the server calls this once the response is done).
    fn close(&mut self) {
        self.file = None;
    }

    #[getter]
    fn closed(&self) -> bool {
        self.file.is_none()
    }
}
