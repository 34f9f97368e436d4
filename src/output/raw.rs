//! `--save-raw FILE`: the capture of every byte received.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// `--save-raw FILE`: every byte received, in order. Written directly: a
/// capture of a failed exchange is exactly what the user wants to keep.
pub struct RawCapture {
    file: File,
    path: PathBuf,
}

impl RawCapture {
    /// Creates (truncates) FILE.
    pub fn create(path: &Path) -> Result<RawCapture> {
        RawCapture::open(path, false)
    }

    /// Appends to FILE: the URLs after the first of a command add to it.
    pub fn append(path: &Path) -> Result<RawCapture> {
        RawCapture::open(path, true)
    }

    fn open(path: &Path, append: bool) -> Result<RawCapture> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| {
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
