//! `-o FILE`'s temporary files: their names, their creation with the
//! replaced file's attributes, and the removal of stale ones.
//!
//! A temporary file is `.NAME.rawget-PID-HEX.part`: hidden, beside FILE
//! (or in `$TMPDIR`), named after FILE and after the process writing it.
//! SIGKILL, a crash or a power cut leave it behind; the process id lets a
//! later run to the same FILE tell it is stale and remove it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Creates a new temporary file in `dir` for FILE `name`:
/// `.NAME.rawget-PID-HEX.part`, hidden, and named after its process so that
/// a later run can tell a stale one. It is made private (0600) when it will
/// replace an existing file, whose mode [`keep_attributes`] then gives it;
/// a new FILE gets the usual 0666 less the umask, as curl's does.
pub(super) fn create_temp(dir: &Path, name: &OsStr, private: bool) -> io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    let mut last_err = None;
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".rawget-{pid}-{:x}.part", nanos ^ attempt));
        let temp = dir.join(temp_name);
        let mut open = OpenOptions::new();
        // Readable too: a copy over FILE (Finish::Copy) reads it back.
        open.read(true).write(true).create_new(true);
        // Windows has no mode bits: the file takes its directory's ACL.
        #[cfg(unix)]
        if private {
            open.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        match open.open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Gives the temporary file the replaced file's owner, group and mode, so
/// the rename changes FILE's content and nothing else (a 0600 file stayed
/// 0644 before). The owner is kept when rawget may set it (as root); the
/// group when it may (root, or a group the user is in); otherwise they are
/// the user's, as for any file the user writes anew. Owner first: chown
/// clears the set-user-ID and set-group-ID bits that the mode then restores.
#[cfg(unix)]
pub(super) fn keep_attributes(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
    let new = file.metadata()?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid())
        && fchown(file, Some(old.uid()), Some(old.gid())).is_err()
    {
        let _ = fchown(file, None, Some(old.gid()));
    }
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
}

/// Windows: no owner, group or mode bits to carry over (the read-only
/// attribute of the old file would only make the rename over it fail),
/// and the ACL the new file inherits from the directory is FILE's too.
#[cfg(not(unix))]
pub(super) fn keep_attributes(_: &File, _: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Removes the stale temporary files for FILE `name` in `dir`: those whose
/// process is gone (`kill(pid, 0)` fails with ESRCH; on Windows the
/// process cannot be opened, or has exited), left by SIGKILL or a
/// crash. A file whose process lives, or whose name is not exactly one of
/// ours for this FILE, is left alone. Best effort: a directory that cannot
/// be listed is not an error, the fetch goes on.
///
/// Process ids are this pid namespace's: a download into the same
/// directory from another container (or over NFS from another machine)
/// looks stale from here. The cost is one pass over the directory.
pub(super) fn remove_stale(dir: &Path, name: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_encoded_bytes());
    prefix.extend_from_slice(b".rawget-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if let Some(pid) = owner(file_name.as_encoded_bytes(), &prefix) {
            if is_gone(pid) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// The process id in `PREFIX<pid>-<hex>.part`, the name [`create_temp`]
/// gives; `None` for any other name or a pid that is not a positive number.
fn owner(file_name: &[u8], prefix: &[u8]) -> Option<Pid> {
    let rest = file_name.strip_prefix(prefix)?.strip_suffix(b".part")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, hex) = (&rest[..dash], &rest[dash + 1..]);
    if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    // 0 and negative ids mean process groups to kill(2): never ours.
    std::str::from_utf8(pid)
        .ok()?
        .parse::<Pid>()
        .ok()
        .filter(|&p| p > 0)
}

/// A process id as the system spells it.
#[cfg(unix)]
type Pid = libc::pid_t;
#[cfg(windows)]
type Pid = u32;

/// Whether no process has id `pid`. EPERM means one does (not ours to
/// signal), so only ESRCH counts.
#[cfg(unix)]
fn is_gone(pid: Pid) -> bool {
    // SAFETY: signal 0 sends nothing; kill only checks that pid exists.
    let failed = unsafe { libc::kill(pid, 0) } == -1;
    failed && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Whether no process has id `pid`: it cannot be opened because there is
/// none (ERROR_INVALID_PARAMETER; access denied means one lives), or it
/// has exited and its handle is only held open by someone.
#[cfg(windows)]
fn is_gone(pid: Pid) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, ERROR_INVALID_PARAMETER, STILL_ACTIVE};
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: OpenProcess only looks the id up; a null handle is a failure.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        return io::Error::last_os_error().raw_os_error() == Some(ERROR_INVALID_PARAMETER as i32);
    }
    let mut code = 0u32;
    // SAFETY: `handle` is a valid process handle, closed just after.
    let exited =
        unsafe { GetExitCodeProcess(handle, &mut code) } != 0 && code != STILL_ACTIVE as u32;
    // SAFETY: closes the handle opened above, once.
    unsafe { CloseHandle(handle) };
    exited
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_for_this_file_have_an_owner() {
        let prefix = b".out.rawget-";
        assert_eq!(owner(b".out.rawget-123-1a2b.part", prefix), Some(123));
        for name in [
            &b".out.rawget-0-1a.part"[..],
            b".out.rawget--1-1a.part",
            b".out.rawget-12-.part",
            b".out.rawget-12-xyz.part",
            b".out.rawget-12-1a.partial",
            b".out.rawget-99999999999-1a.part",
            b".out.rawget-12.part",
            b".outer.rawget-12-1a.part",
        ] {
            assert_eq!(owner(name, prefix), None, "{}", name.escape_ascii());
        }
    }
}
