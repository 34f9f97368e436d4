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
        if private {
            open.mode(0o600);
        }
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
