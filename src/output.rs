//! Where bytes go: the body sink, head routing, and the safe `-o FILE`.
//!
//! `-o FILE` is written into a temporary file beside FILE (same directory,
//! so the final rename is atomic) and renamed over FILE only when the
//! response is complete. A failed fetch removes the temporary file, and so
//! does SIGINT/SIGTERM, so an existing FILE is never clobbered and nothing
//! is left behind. Devices and pipes (`-o /dev/null`, `-o /dev/full`) are
//! written directly: renaming over them would replace the device node.
//!
//! stdout and stderr are written unbuffered through their file descriptors,
//! so head and body reach fd 1 in order, with one system call per buffer.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::error::{Error, ErrorKind, Result};

pub mod diag;
pub mod sink;

/// An unbuffered writer on a standard stream (fd 1 or 2), not closed on drop.
pub struct StdStream {
    file: ManuallyDrop<File>,
    name: &'static str,
}

impl StdStream {
    /// Standard output.
    pub fn stdout() -> StdStream {
        // SAFETY: fd 1 is open for the life of the process, and ManuallyDrop
        // keeps this File from closing it.
        StdStream {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
            name: "stdout",
        }
    }

    /// Standard error.
    pub fn stderr() -> StdStream {
        // SAFETY: as for stdout, with fd 2.
        StdStream {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(2) }),
            name: "stderr",
        }
    }

    /// Writes all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).map_err(|e| self.write_error(e))
    }

    /// The error for a failed write. A reader that went away (`| head -c
    /// 10`) is a quiet failure: the user closed the pipe on purpose.
    fn write_error(&self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Error::quiet(ErrorKind::Write)
        } else {
            Error::new(
                ErrorKind::Write,
                format!("could not write to {}", self.name),
            )
            .with_source(e)
        }
    }
}

/// `write_all` for vectored writes: retries after short writes and EINTR.
fn write_all_vectored(file: &mut File, mut rest: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Most pieces written by one [`BodyOut::write_ranges`] call.
pub const MAX_IOV: usize = 64;

/// The body's destination.
pub enum BodyOut {
    /// Standard output.
    Stdout(StdStream),
    /// A file, safely or directly.
    File(FileOut),
}

impl BodyOut {
    /// Opens the destination: stdout for `None` or `-`, else FILE.
    pub fn open(path: Option<&Path>, keep_partial: bool) -> Result<BodyOut> {
        match path {
            None => Ok(BodyOut::Stdout(StdStream::stdout())),
            Some(p) if p.as_os_str() == "-" => Ok(BodyOut::Stdout(StdStream::stdout())),
            Some(p) => FileOut::create(p, keep_partial).map(BodyOut::File),
        }
    }

    /// The descriptor body bytes go to (for splice).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            BodyOut::Stdout(s) => s.file.as_raw_fd(),
            BodyOut::File(f) => f.file.as_raw_fd(),
        }
    }

    /// Counts bytes written behind this writer's back (by splice).
    pub fn count(&mut self, n: u64) {
        if let BodyOut::File(f) = self {
            f.written += n;
        }
    }

    /// The error for a failed write to this destination (also for writes
    /// made behind its back, by splice).
    pub fn write_error(&self, e: io::Error) -> Error {
        match self {
            BodyOut::Stdout(s) => s.write_error(e),
            BodyOut::File(f) => f.write_error(e),
        }
    }

    /// Whether the body goes to stdout.
    pub fn is_stdout(&self) -> bool {
        matches!(self, BodyOut::Stdout(_))
    }

    /// Writes body bytes.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        match self {
            BodyOut::Stdout(s) => s.write_all(data),
            BodyOut::File(f) => f.write_all(data),
        }
    }

    /// Writes the pieces `ranges` of `buf` (at most [`MAX_IOV`]), in order,
    /// with vectored writes, no copying to make them contiguous. Returns the
    /// bytes written.
    pub fn write_ranges(&mut self, buf: &[u8], ranges: &[std::ops::Range<usize>]) -> Result<usize> {
        let file = match self {
            BodyOut::Stdout(s) => &mut *s.file,
            BodyOut::File(f) => &mut f.file,
        };
        let mut slices = [io::IoSlice::new(&[]); MAX_IOV];
        let n = ranges.len().min(MAX_IOV);
        for (slice, r) in slices.iter_mut().zip(&ranges[..n]) {
            *slice = io::IoSlice::new(&buf[r.clone()]);
        }
        let total: usize = ranges[..n].iter().map(|r| r.len()).sum();
        write_all_vectored(file, &mut slices[..n]).map_err(|e| self.write_error(e))?;
        self.count(total as u64);
        Ok(total)
    }

    /// The response is complete: make the output final.
    pub fn commit(self) -> Result<()> {
        match self {
            BodyOut::Stdout(_) => Ok(()),
            BodyOut::File(f) => f.commit(),
        }
    }

    /// The fetch failed: leave an existing FILE as it was (or keep what
    /// arrived, with `--keep-partial`). Returns a note for the user, if any.
    pub fn abort(self) -> Option<String> {
        match self {
            BodyOut::Stdout(_) => None,
            BodyOut::File(f) => f.abort(),
        }
    }
}

/// `-o FILE`: a temporary file renamed into place, or a device written directly.
pub struct FileOut {
    file: File,
    path: PathBuf,
    /// The temporary file, while it exists; `None` for direct writes.
    temp: Option<PathBuf>,
    keep_partial: bool,
    written: u64,
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

    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).map_err(|e| self.write_error(e))?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn write_error(&self, e: io::Error) -> Error {
        Error::new(
            ErrorKind::Write,
            format!("could not write to {}", self.path.display()),
        )
        .with_source(e)
    }

    fn commit(mut self) -> Result<()> {
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

    fn abort(mut self) -> Option<String> {
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

/// Where response heads (and trailers) are printed.
pub struct HeadOut {
    routing: HeadRouting,
    dump: Option<(File, PathBuf)>,
}

/// The flags that decide where heads go.
pub struct HeadFlags {
    /// `-I`: the head is the output.
    pub head_only: bool,
    /// `-i`.
    pub include: bool,
    /// `-s`.
    pub silent: bool,
    /// `-v` shows heads as `< ` lines instead of on stderr.
    pub verbose: bool,
    /// `-D FILE`.
    pub dump_header: Option<PathBuf>,
}

/// Where heads go, decided once from the flags (the contract's output table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadRouting {
    /// On stdout, on their own.
    pub to_stdout: bool,
    /// On stderr.
    pub to_stderr: bool,
    /// Through the body's writer, before the body (`-I`, `-i` to stdout).
    pub to_body: bool,
    /// `-D FILE` (not `-`, which is `to_stdout`).
    pub dump: Option<PathBuf>,
}

impl HeadRouting {
    /// Decides where heads go, given where the body goes.
    pub fn decide(f: &HeadFlags, body_to_stdout: bool) -> HeadRouting {
        let mut r = HeadRouting::default();
        if f.head_only || (f.include && body_to_stdout) {
            // -I: the head is the output; -i: the head goes before the body
            // on stdout (through the body's own writer, to keep the order).
            r.to_body = true;
        } else if f.include || (!f.silent && !body_to_stdout) {
            r.to_stdout = true;
        } else if !f.silent {
            // The body owns stdout; -v shows the head as `< ` lines instead.
            r.to_stderr = !f.verbose;
        }
        match &f.dump_header {
            // Once on stdout is enough when the head goes there anyway.
            Some(p) if p.as_os_str() == "-" => r.to_stdout |= !(r.to_body && body_to_stdout),
            Some(p) => r.dump = Some(p.clone()),
            None => {}
        }
        r
    }
}

impl HeadOut {
    /// Opens what the routing names (the `-D` file).
    pub fn open(routing: &HeadRouting) -> Result<HeadOut> {
        let dump = match &routing.dump {
            Some(p) => Some((
                File::create(p).map_err(|e| {
                    Error::new(
                        ErrorKind::Write,
                        format!("could not create {}", p.display()),
                    )
                    .with_source(e)
                })?,
                p.clone(),
            )),
            None => None,
        };
        Ok(HeadOut {
            routing: routing.clone(),
            dump,
        })
    }

    /// Prints one head (or trailer block) exactly as received.
    pub fn write(&mut self, bytes: &[u8], body: &mut BodyOut) -> Result<()> {
        if self.routing.to_body {
            body.write_all(bytes)?;
        }
        if self.routing.to_stdout {
            StdStream::stdout().write_all(bytes)?;
        }
        if self.routing.to_stderr {
            // stderr failing is not worth failing the fetch over.
            let _ = StdStream::stderr().write_all(bytes);
        }
        if let Some((f, p)) = &mut self.dump {
            f.write_all(bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Write,
                    format!("could not write to {}", p.display()),
                )
                .with_source(e)
            })?;
        }
        Ok(())
    }
}

/// `--save-raw FILE`: every byte received, in order. Written directly: a
/// capture of a failed exchange is exactly what the user wants to keep.
pub struct RawCapture {
    file: File,
    path: PathBuf,
}

impl RawCapture {
    /// Creates (truncates) FILE.
    pub fn create(path: &Path) -> Result<RawCapture> {
        let file = File::create(path).map_err(|e| {
            Error::new(
                ErrorKind::Write,
                format!("could not create {}", path.display()),
            )
            .with_source(e)
        })?;
        Ok(RawCapture {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends received bytes.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).map_err(|e| {
            Error::new(
                ErrorKind::Write,
                format!("could not write to {}", self.path.display()),
            )
            .with_source(e)
        })
    }
}
