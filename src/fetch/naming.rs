//! Naming the body's file: `--create-dirs` makes its directory before it
//! is opened, and `-J` renames it at the final head from
//! Content-Disposition (`src/response/disposition.rs` strips the
//! directory part), never over an existing file, as curl refuses to.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::options::Options;
use crate::output::{BodyOut, StdStream};
use crate::response::disposition;
use crate::response::head::Head;

use super::Fetch;

/// `--create-dirs`: the directories the body file (and, for `-J`, the
/// directory its name goes in) need.
pub(super) fn create_dirs(opts: &Options) -> Result<()> {
    let out = &opts.output;
    if !out.create_dirs {
        return Ok(());
    }
    let file_dir = out.body.as_deref().and_then(Path::parent);
    for dir in [file_dir, out.header_name_in.as_deref()]
        .into_iter()
        .flatten()
    {
        if dir.as_os_str().is_empty() {
            continue;
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::new(
                ErrorKind::Write,
                format!("could not create the directory {}", dir.display()),
            )
            .with_source(e)
        })?;
    }
    Ok(())
}

impl Fetch<'_> {
    /// `-J`: when the final head names a file, the body goes there instead
    /// of the `-O` name (whose temporary file is removed, untouched). An
    /// existing file of that name is never overwritten (exit 23).
    pub(super) fn name_from_header(&mut self, head: &Head) -> Result<()> {
        let (Some(dir), Some(name)) = (
            &self.opts.output.header_name_in,
            disposition::filename(head),
        ) else {
            return Ok(());
        };
        let path = dir.join(&name);
        if self.opts.output.body.as_deref() == Some(path.as_path()) {
            return Ok(());
        }
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(Error::new(
                ErrorKind::Write,
                format!(
                    "refusing to overwrite {} (named by Content-Disposition): it exists",
                    path.display()
                ),
            ));
        }
        self.trace.step(|| {
            format!(
                "Content-Disposition names the file: saving to {}",
                path.display()
            )
        });
        // The -O name's temporary file goes first (dropping it removes the
        // file and disarms the signal handler), then the new one is armed.
        let placeholder = BodyOut::Stdout(StdStream::stdout());
        drop(std::mem::replace(self.sink.out(), placeholder));
        *self.sink.out() = BodyOut::open(Some(&path), self.opts.output.keep_partial)?;
        Ok(())
    }
}
