//! The safe `-o FILE`: a temporary file beside FILE, renamed over it only
//! when the response is complete, and removed on failure or SIGINT/SIGTERM
//! (`signals/`); its name and attributes are `temp.rs`'s.
//!
//! The temporary file is in FILE's directory, so the final rename is
//! atomic. Where the directory refuses (no temporary file can be made
//! there, or FILE cannot be replaced, only written), the body is copied
//! over FILE at the end instead, from a temporary file in `$TMPDIR` or
//! beside FILE. What is not a regular file is written in place, never renamed
//! over: devices, FIFOs and sockets (`-o /dev/null`, `-o /dev/full`), and
//! the `/proc/self/fd/N` links behind `/dev/stdout` and `/dev/fd/N`, which
//! name an open file rather than a path. A resume (`-C`) appends to FILE
//! in place ([`FileOut::append`]), cut back to its old length on failure
//! or a signal (with `--keep-partial`, what was appended is kept).
//!
//! Unix only: the replaced file's owner, group and mode, the procfs links,
//! and a write to one of rawget's own descriptors. On Windows the rename
//! (MoveFileEx, which replaces FILE) and the copy fallback are the same,
//! and Ctrl-C does what a signal does (`signals/windows.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::diag;
use super::signals::{self, OnSignal};
use super::temp::{create_temp, keep_attributes, remove_stale};
use crate::error::{one_line, Error, ErrorKind, Result};

/// `-o FILE`: a temporary file renamed into place, or a device written directly.
pub struct FileOut {
    pub(super) file: File,
    /// FILE as the user named it, for messages.
    path: PathBuf,
    /// What the temporary file is renamed over: FILE, or the end of its
    /// chain of symbolic links.
    target: PathBuf,
    /// The temporary file, while it exists; `None` for direct writes.
    temp: Option<PathBuf>,
    /// How the temporary file becomes FILE.
    finish: Finish,
    keep_partial: bool,
    pub(super) written: u64,
    /// `-C`: FILE is appended to in place, and held this many bytes before.
    append_from: Option<u64>,
}

impl FileOut {
    /// `-C`: opens FILE to append a resumed body after its `at` bytes.
    ///
    /// Resuming is the one case where FILE is written in place: its bytes
    /// are the start of the body, so there is nothing to replace. It is
    /// still safe: the fetch appends only a 206 that starts exactly at
    /// `at`; a failure part-way, or SIGINT/SIGTERM/SIGHUP, cuts FILE back
    /// to its `at` bytes (with `--keep-partial` it keeps what arrived, a
    /// longer prefix that `-C -` resumes from).
    pub fn append(path: &Path, at: u64, keep_partial: bool) -> Result<FileOut> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| create_error(path, e))?;
        let len = file.metadata().map_err(|e| create_error(path, e))?.len();
        if len != at {
            return Err(Error::new(
                ErrorKind::Write,
                format!(
                    "{} changed: it has {len} bytes, not the {at} to resume after",
                    path.display()
                ),
            ));
        }
        signals::arm_append(&file, at, path, keep_partial);
        Ok(FileOut {
            file,
            path: path.to_owned(),
            target: path.to_owned(),
            temp: None,
            finish: Finish::Rename,
            keep_partial,
            written: 0,
            append_from: Some(at),
        })
    }

    /// A resumed body did not complete: FILE goes back to its old length,
    /// unless `--keep-partial` keeps what arrived. Returns the note.
    fn abort_append(&mut self, at: u64) -> Option<String> {
        signals::disarm();
        if self.keep_partial {
            return Some(format!(
                "kept the partial body in {} ({} bytes appended to its {at})",
                self.path.display(),
                self.written
            ));
        }
        match self.file.set_len(at) {
            Ok(()) => None,
            Err(e) => Some(format!(
                "warning: could not cut {} back to its {at} bytes: {}",
                self.path.display(),
                one_line(&e)
            )),
        }
    }
    /// Creates the temporary file beside `path` (or opens a device).
    pub fn create(path: &Path, keep_partial: bool) -> Result<FileOut> {
        let (target, existing) = match resolve(path)? {
            Target::InPlace(at) => return FileOut::in_place(path, &at, keep_partial),
            Target::Replace { at, existing } => (at, existing),
        };
        let name = target.file_name().ok_or_else(|| {
            Error::new(
                ErrorKind::Write,
                format!("could not create {}: not a file name", path.display()),
            )
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        remove_stale(&dir, name);
        let (file, temp, finish) = match create_temp(&dir, name, existing.is_some()) {
            Ok((file, temp)) => (file, temp, Finish::Rename),
            Err(e) if existing.is_some() && writable(&target) => {
                // FILE can be written but nothing can be made beside it
                // (a directory rawget may not write): curl writes FILE, and
                // so does rawget, keeping the old content until the body
                // is complete by collecting it elsewhere first.
                let tmp = std::env::temp_dir();
                remove_stale(&tmp, name);
                let Ok((file, temp)) = create_temp(&tmp, name, true) else {
                    return Err(create_error(path, e));
                };
                diag::step(format_args!(
                    "cannot create a temporary file beside {} ({}); writing through {}, \
                     copied over {} when complete",
                    path.display(),
                    one_line(&e),
                    temp.display(),
                    path.display()
                ));
                (file, temp, Finish::Copy)
            }
            Err(e) => return Err(create_error(path, e)),
        };
        if let (Some(old), Finish::Rename) = (&existing, finish) {
            keep_attributes(&file, old).map_err(|e| {
                let _ = fs::remove_file(&temp);
                create_error(path, e)
            })?;
        }
        let on_signal = match (keep_partial, finish) {
            (false, _) => OnSignal::Remove,
            (true, Finish::Rename) => OnSignal::Rename,
            (true, Finish::Copy) => OnSignal::Copy,
        };
        signals::arm(&temp, &target, path, on_signal);
        Ok(FileOut {
            file,
            path: path.to_owned(),
            target,
            temp: Some(temp),
            finish,
            keep_partial,
            written: 0,
            append_from: None,
        })
    }

    /// Opens what `at` names for writing in place: a device, a FIFO, a
    /// socket, or whatever a `/proc/self/fd/N` link stands for.
    ///
    /// A link to one of rawget's own descriptors (`/dev/stdout` is
    /// `/proc/self/fd/1`) is written through that descriptor, as opening
    /// `/dev/fd/N` means on the BSDs: same offset and flags, so `>> log`
    /// appends, a head printed to stdout stays before the body, and a
    /// socket (which cannot be reopened through /proc) works. Any other
    /// regular file is truncated first, as curl's `fopen("wb")` would.
    fn in_place(path: &Path, at: &Path, keep_partial: bool) -> Result<FileOut> {
        let mut open = OpenOptions::new();
        open.write(true);
        // A terminal named by -o does not become rawget's controlling one.
        #[cfg(unix)]
        open.custom_flags(libc::O_NOCTTY);
        let file = match own_descriptor(at) {
            Some(own) => Ok(own),
            None => open.open(at).and_then(|f| {
                if f.metadata()?.is_file() {
                    f.set_len(0)?;
                }
                Ok(f)
            }),
        }
        .map_err(|e| create_error(path, e))?;
        Ok(FileOut {
            file,
            path: path.to_owned(),
            target: at.to_owned(),
            temp: None,
            finish: Finish::Rename,
            keep_partial,
            written: 0,
            append_from: None,
        })
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
        if self.append_from.take().is_some() {
            // Complete: a signal from now on leaves FILE whole.
            signals::disarm();
        }
        // No fsync: like curl and wget, rawget leaves durability to the
        // system; a full disk already fails the write itself (exit 23).
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        let done = self.make_final(&temp);
        // Disarmed only now: a signal before this finds no temporary file
        // to remove after a rename, and lets a copy finish.
        signals::disarm();
        done
    }

    pub(super) fn abort(mut self) -> Option<String> {
        if let Some(at) = self.append_from.take() {
            return self.abort_append(at);
        }
        let temp = self.temp.take()?;
        let note = if self.keep_partial {
            Some(match self.make_final(&temp) {
                Ok(()) => format!(
                    "kept the partial body in {} ({} bytes)",
                    self.path.display(),
                    self.written
                ),
                Err(e) => one_line(&e),
            })
        } else {
            let _ = fs::remove_file(&temp);
            None
        };
        signals::disarm();
        note
    }

    /// Makes the temporary file FILE: renamed over it, or copied over it
    /// when it is elsewhere (`$TMPDIR`), or when the directory refuses the
    /// rename but FILE itself is writable (a sticky directory such as
    /// /tmp, where another user's file cannot be replaced, only written).
    fn make_final(&mut self, temp: &Path) -> Result<()> {
        if self.finish == Finish::Rename {
            match fs::rename(temp, &self.target) {
                Ok(()) => return Ok(()),
                Err(e) if refused(&e) && writable(&self.target) => diag::step(format_args!(
                    "cannot rename into {} ({}); copying over it",
                    self.path.display(),
                    one_line(&e)
                )),
                Err(e) => {
                    let _ = fs::remove_file(temp);
                    return Err(Error::new(
                        ErrorKind::Write,
                        format!("could not rename into {}", self.path.display()),
                    )
                    .with_source(e));
                }
            }
        }
        // A signal during the copy finishes it (or, for a partial body,
        // does what --keep-partial asked: the same copy).
        signals::set(OnSignal::Copy);
        copy_over(&mut self.file, temp, &self.target, &self.path)
    }
}

/// Whether a failed rename was refused by permissions (EPERM: a sticky
/// directory; EACCES: no write permission on the directory; on Windows
/// ERROR_ACCESS_DENIED: FILE is read-only or held open without sharing).
fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
}

impl Drop for FileOut {
    fn drop(&mut self) {
        if let Some(at) = self.append_from.take() {
            let _ = self.abort_append(at);
        }
        // Neither committed nor aborted (an early return): leave nothing behind.
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
            signals::disarm();
        }
    }
}

/// How the temporary file becomes FILE once the body is complete.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// rename(2) over FILE: atomic, the temporary file is beside it.
    Rename,
    /// Copied over FILE, which is opened for writing only then: the
    /// temporary file is elsewhere (`$TMPDIR`), since FILE's directory
    /// cannot take one. FILE keeps its inode, owner and mode.
    Copy,
}

/// Copies the complete temporary file (`file`, at `temp`) over `target`
/// and removes it. FILE is opened (and truncated) only now, so until here
/// its old content was whole. If FILE cannot be opened, it is untouched and
/// the temporary file goes; if the copy fails part-way, FILE is damaged and
/// the temporary file, the one complete copy, is kept and named.
fn copy_over(file: &mut File, temp: &Path, target: &Path, path: &Path) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut dest = match OpenOptions::new().write(true).truncate(true).open(target) {
        Ok(dest) => dest,
        Err(e) => {
            let _ = fs::remove_file(temp);
            return Err(Error::new(
                ErrorKind::Write,
                format!("could not open {} to write the body", path.display()),
            )
            .with_source(e));
        }
    };
    // io::copy uses copy_file_range(2) or sendfile(2) where it can.
    let copied = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| io::copy(file, &mut dest));
    match copied {
        Ok(_) => {
            let _ = fs::remove_file(temp);
            Ok(())
        }
        Err(e) => Err(Error::new(
            ErrorKind::Write,
            format!(
                "could not copy the body over {}, which is now incomplete; \
                 what arrived is kept in {}",
                path.display(),
                temp.display()
            ),
        )
        .with_source(e)),
    }
}

/// Whether rawget may open `path` for writing (checked with the real ids,
/// which are rawget's: it is not set-user-ID).
#[cfg(unix)]
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads a valid C string.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Whether rawget may open `path` for writing: Windows has no access(2),
/// so it is opened (not truncated, and closed at once) to ask.
#[cfg(not(unix))]
fn writable(path: &Path) -> bool {
    OpenOptions::new().write(true).open(path).is_ok()
}

/// Symbolic links followed before giving up, as the kernel's own limit
/// (ELOOP after 40).
const MAX_LINKS: usize = 40;

/// How `-o PATH` is written, once its symbolic links are followed.
enum Target {
    /// A regular file (`existing`), or nothing yet: through a temporary
    /// file renamed over `at`, the end of the chain of links.
    Replace {
        at: PathBuf,
        existing: Option<fs::Metadata>,
    },
    /// In place: not a regular file (a device, a FIFO, a socket), or a
    /// `/proc/.../fd/N` link. Renaming over it would replace the device
    /// node or the link (`-o /dev/stdout` as root did).
    InPlace(PathBuf),
}

/// Follows `path`'s symbolic links, one at a time, to what they name.
///
/// A link in procfs (`/proc/self/fd/1`, where `/dev/stdout` and `/dev/fd/N`
/// lead) is not followed: it names an open file, not a path, and reading
/// it gives `pipe:[1234]` or a deleted file's old name. It is written in
/// place, like a device.
fn resolve(path: &Path) -> Result<Target> {
    let mut at = path.to_owned();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            // A dangling link creates its target, as opening through it does.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Target::Replace { at, existing: None })
            }
            Err(e) => return Err(create_error(path, e)),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            if is_proc_link(&at) {
                return Ok(Target::InPlace(at));
            }
            let next = fs::read_link(&at).map_err(|e| create_error(path, e))?;
            // A relative target is relative to the link's directory; an
            // absolute one replaces the path (Path::join does both).
            at = match at.parent() {
                Some(dir) => dir.join(next),
                None => next,
            };
        } else if kind.is_dir() {
            return Err(Error::new(
                ErrorKind::Write,
                format!("could not create {}: is a directory", path.display()),
            ));
        } else if kind.is_file() {
            return Ok(Target::Replace {
                at,
                existing: Some(meta),
            });
        } else {
            return Ok(Target::InPlace(at));
        }
    }
    #[cfg(unix)]
    let too_many = io::Error::from_raw_os_error(libc::ELOOP);
    #[cfg(not(unix))]
    let too_many = io::Error::other("too many levels of symbolic links");
    Err(create_error(path, too_many))
}

/// Whether `link` lives in procfs, where a symbolic link is a handle on an
/// open file (`/proc/self/fd/N`, `/proc/PID/cwd`) rather than a path.
#[cfg(target_os = "linux")]
fn is_proc_link(link: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let dir = match link.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(dir) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs is a plain C struct, for which all zeroes is valid.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: statfs reads a valid C string and fills the struct.
    let ok = unsafe { libc::statfs(dir.as_ptr(), &mut fs) } == 0;
    // f_type's and the constant's integer types differ between libcs (the
    // same on glibc, where the cast is a no-op); compare as i64.
    #[allow(clippy::unnecessary_cast)]
    let proc = fs.f_type as i64 == libc::PROC_SUPER_MAGIC as i64;
    ok && proc
}

/// Elsewhere `/dev/fd/N` and `/dev/stdout` are devices, written in place
/// already.
#[cfg(not(target_os = "linux"))]
fn is_proc_link(_: &Path) -> bool {
    false
}

/// When `link` is `.../fd/N` and names the same open file as rawget's own
/// descriptor N, a duplicate of N (close-on-exec).
#[cfg(unix)]
fn own_descriptor(link: &Path) -> Option<File> {
    use std::os::fd::{BorrowedFd, RawFd};
    use std::os::unix::fs::MetadataExt;
    let n: RawFd = link.file_name()?.to_str()?.parse().ok()?;
    let named = fs::metadata(link).ok()?;
    // SAFETY: fcntl(F_GETFD) only asks whether descriptor n is open.
    if n < 0 || unsafe { libc::fcntl(n, libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: n is open (checked just above) and stays open while borrowed:
    // nothing in rawget closes a descriptor it did not open.
    let fd = unsafe { BorrowedFd::borrow_raw(n) };
    let own = File::from(fd.try_clone_to_owned().ok()?);
    let meta = own.metadata().ok()?;
    if (meta.dev(), meta.ino()) != (named.dev(), named.ino()) {
        return None;
    }
    Some(own)
}

/// Windows has no `/dev/fd/N`: nothing names one of rawget's handles.
#[cfg(not(unix))]
fn own_descriptor(_: &Path) -> Option<File> {
    None
}

/// The error for an `-o` target that cannot be opened or created.
fn create_error(path: &Path, e: io::Error) -> Error {
    Error::new(
        ErrorKind::Write,
        format!("could not create {}", path.display()),
    )
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::super::temp::create_temp;
    use super::*;
    use std::ffi::OsStr;

    /// A copy that fails part-way (here: /dev/full, no space) is reported
    /// with the damage, and keeps the temporary file, the only whole copy.
    #[test]
    fn a_failed_copy_over_file_keeps_the_temporary_file_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let (mut file, temp) = create_temp(dir.path(), OsStr::new("out"), true).unwrap();
        file.write_all(b"the whole body").unwrap();
        let err =
            copy_over(&mut file, &temp, Path::new("/dev/full"), Path::new("out")).unwrap_err();
        assert_eq!(err.exit_code(), 23);
        assert_eq!(
            one_line(&err),
            format!(
                "could not copy the body over out, which is now incomplete; what arrived is \
                 kept in {}: No space left on device",
                temp.display()
            )
        );
        assert_eq!(fs::read(&temp).unwrap(), b"the whole body");
    }
}
