//! The safe `-o FILE`: a temporary file beside FILE, renamed over it only
//! when the response is complete, and removed on failure or SIGINT/SIGTERM.
//!
//! The temporary file is in FILE's directory, so the final rename is
//! atomic. Devices and pipes (`-o /dev/null`, `-o /dev/full`) are written
//! directly: renaming over them would replace the device node.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::error::{Error, ErrorKind, Result};

/// `-o FILE`: a temporary file renamed into place, or a device written directly.
pub struct FileOut {
    pub(super) file: File,
    path: PathBuf,
    /// The temporary file, while it exists; `None` for direct writes.
    temp: Option<PathBuf>,
    keep_partial: bool,
    pub(super) written: u64,
}

impl FileOut {
    /// Creates the temporary file beside `path` (or opens a device).
    pub fn create(path: &Path, keep_partial: bool) -> Result<FileOut> {
        let write_err = |what: &Path, e: io::Error| {
            Error::new(
                ErrorKind::Write,
                format!("could not create {}", what.display()),
            )
            .with_source(e)
        };
        if let Ok(meta) = fs::metadata(path) {
            if meta.is_dir() {
                return Err(Error::new(
                    ErrorKind::Write,
                    format!("could not create {}: is a directory", path.display()),
                ));
            }
            if !meta.is_file() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| write_err(path, e))?;
                return Ok(FileOut {
                    file,
                    path: path.to_owned(),
                    temp: None,
                    keep_partial,
                    written: 0,
                });
            }
        }
        let name = path.file_name().ok_or_else(|| {
            Error::new(
                ErrorKind::Write,
                format!("could not create {}: not a file name", path.display()),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let pid = std::process::id();
        let mut last_err = None;
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".rawget-{pid}-{:x}.part", nanos ^ attempt));
            let temp = dir.join(temp_name);
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    register_temp(&temp);
                    return Ok(FileOut {
                        file,
                        path: path.to_owned(),
                        temp: Some(temp),
                        keep_partial,
                        written: 0,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(write_err(path, e)),
            }
        }
        Err(write_err(
            path,
            last_err.unwrap_or_else(|| io::Error::other("no free temporary name")),
        ))
    }

    pub(super) fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).map_err(|e| self.write_error(e))?;
        self.written += data.len() as u64;
        Ok(())
    }

    pub(super) fn write_error(&self, e: io::Error) -> Error {
        Error::new(
            ErrorKind::Write,
            format!("could not write to {}", self.path.display()),
        )
        .with_source(e)
    }

    pub(super) fn commit(mut self) -> Result<()> {
        // No fsync: like curl and wget, rawget leaves durability to the
        // system; a full disk already fails the write itself (exit 23).
        if let Some(temp) = self.temp.take() {
            let renamed = fs::rename(&temp, &self.path);
            unregister_temp();
            if let Err(e) = renamed {
                let _ = fs::remove_file(&temp);
                return Err(Error::new(
                    ErrorKind::Write,
                    format!("could not rename into {}", self.path.display()),
                )
                .with_source(e));
            }
        }
        Ok(())
    }

    pub(super) fn abort(mut self) -> Option<String> {
        let temp = self.temp.take()?;
        let note = if self.keep_partial && fs::rename(&temp, &self.path).is_ok() {
            Some(format!(
                "kept the partial body in {} ({} bytes)",
                self.path.display(),
                self.written
            ))
        } else {
            let _ = fs::remove_file(&temp);
            None
        };
        unregister_temp();
        note
    }
}

impl Drop for FileOut {
    fn drop(&mut self) {
        // Neither committed nor aborted (an early return): leave nothing behind.
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
            unregister_temp();
        }
    }
}

/// The temporary file's path for the signal handler, as a leaked C string.
static TEMP_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

fn register_temp(path: &Path) {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    TEMP_PATH.store(c.into_raw(), Ordering::SeqCst);
    install_signal_cleanup();
}

fn unregister_temp() {
    let p = TEMP_PATH.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if !p.is_null() {
        // SAFETY: the pointer came from CString::into_raw in register_temp.
        drop(unsafe { CString::from_raw(p) });
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    let p = TEMP_PATH.load(Ordering::SeqCst);
    // SAFETY: unlink, signal and raise are async-signal-safe; `p` is a valid
    // C string or null.
    unsafe {
        if !p.is_null() {
            libc::unlink(p);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn install_signal_cleanup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
            libc::signal(libc::SIGHUP, handler);
        }
    });
}
