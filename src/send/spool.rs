//! `--report`'s two arrays that grow with the count, `requests` and
//! `responses`, kept on disk as they grow and copied into the report when
//! it is written: a report of a million-request pipeline costs a temporary
//! file, not memory.
//!
//! Each element is serialized once, compactly, as it is recorded, into an
//! unnamed temporary file (created in `$TMPDIR` and unlinked at once, so
//! nothing is left behind whatever ends the process). The report itself is
//! serialized with a marker string where each array goes; writing it copies
//! the text up to each marker, then the array from its file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Serialize, Serializer};

use crate::error::{one_line, Error, ErrorKind, Result};
use crate::output::{diag, StdStream};

/// One array of the report, on disk.
#[derive(Debug)]
pub struct Spool<T> {
    /// Which spool: its marker in the report's text.
    id: usize,
    /// The elements so far, each followed by a comma; created on the first.
    file: Option<BufWriter<File>>,
    /// The first failure to record; the report then fails to be written.
    failed: Option<io::Error>,
    _elements: PhantomData<fn(&T)>,
}

impl<T> Default for Spool<T> {
    fn default() -> Spool<T> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Spool {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            file: None,
            failed: None,
            _elements: PhantomData,
        }
    }
}

impl<T: Serialize> From<Vec<T>> for Spool<T> {
    fn from(items: Vec<T>) -> Spool<T> {
        let mut spool = Spool::default();
        for item in &items {
            spool.push(item);
        }
        spool
    }
}

impl<T: Serialize> Spool<T> {
    /// Records `item` at the end of the array.
    pub fn push(&mut self, item: &T) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.append(item) {
            self.failed = Some(e);
        }
    }

    fn append(&mut self, item: &T) -> io::Result<()> {
        let out = match &mut self.file {
            Some(out) => out,
            None => self.file.insert(BufWriter::new(unnamed_file()?)),
        };
        serde_json::to_writer(&mut *out, item)?;
        out.write_all(b",")?;
        Ok(())
    }

    /// Copies the array, as JSON, to `emit`.
    fn copy_to(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let encode = |e: io::Error| {
            Error::new(ErrorKind::Write, "could not encode the JSON report").with_source(e)
        };
        if let Some(e) = self.failed.take() {
            return Err(encode(e));
        }
        emit(b"[")?;
        if let Some(out) = &mut self.file {
            out.flush().map_err(encode)?;
            let file = out.get_mut();
            let end = file.stream_position().map_err(encode)?;
            file.seek(SeekFrom::Start(0)).map_err(encode)?;
            // Everything but the last comma.
            let mut left = end.saturating_sub(1);
            let mut buf = vec![0; 64 * 1024];
            while left > 0 {
                let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                let n = file.read(&mut buf[..want]).map_err(encode)?;
                if n == 0 {
                    return Err(encode(io::ErrorKind::UnexpectedEof.into()));
                }
                emit(&buf[..n])?;
                left -= n as u64;
            }
        }
        emit(b"]")
    }

    /// The marker the report is serialized with, as JSON text.
    fn marker(&self) -> String {
        format!("\"\\u0001rawget-spool-{}\\u0001\"", self.id)
    }
}

/// Serialized as its marker: [`write`] puts the array there.
impl<T> Serialize for Spool<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format!("\u{1}rawget-spool-{}\u{1}", self.id))
    }
}

/// A file with no name: created in `$TMPDIR`, unlinked at once.
fn unnamed_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let mut last = None;
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!(
            ".rawget-send-{}-{:x}.spool",
            std::process::id(),
            nanos ^ attempt
        ));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::AlreadyExists.into()))
}

/// Writes the report whose serialization is `text` (`serde_json`'s,
/// with `spools`' markers) to `path` (`-`: stdout), each spool's array
/// where its marker is. The exchange's own failure (`result`) wins over a
/// failure to write the report, which is then a warning, as for the
/// fetch's `--json`.
pub fn write_report<A: Serialize, B: Serialize>(
    result: Result<()>,
    text: serde_json::Result<String>,
    spools: (&mut Spool<A>, &mut Spool<B>),
    path: &Path,
) -> Result<()> {
    match (result, write(text, spools, path)) {
        (Ok(()), written) => written,
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(written)) => {
            diag::line(format_args!("rawget: warning: {}", one_line(&written)));
            Err(e)
        }
    }
}

fn write<A: Serialize, B: Serialize>(
    text: serde_json::Result<String>,
    (a, b): (&mut Spool<A>, &mut Spool<B>),
    path: &Path,
) -> Result<()> {
    let text = text.map_err(|e| {
        Error::new(ErrorKind::Write, "could not encode the JSON report").with_source(e)
    })?;
    let (ma, mb) = (a.marker(), b.marker());
    let (Some(at_a), Some(at_b)) = (text.find(&ma), text.find(&mb)) else {
        return Err(Error::new(
            ErrorKind::Write,
            "could not encode the JSON report: an array's place is missing",
        ));
    };
    let could_not = |e: io::Error| {
        Error::new(
            ErrorKind::Write,
            format!("could not write {}", path.display()),
        )
        .with_source(e)
    };
    let mut file = match path.as_os_str() == "-" {
        true => None,
        false => Some(BufWriter::new(File::create(path).map_err(could_not)?)),
    };
    let mut emit = |bytes: &[u8]| -> Result<()> {
        match &mut file {
            Some(f) => f.write_all(bytes).map_err(could_not),
            None => StdStream::stdout().write_all(bytes),
        }
    };
    // In the order they come in the text.
    let (first, second, at_1, at_2, len_1, len_2) = if at_a < at_b {
        (
            a as &mut dyn CopyTo,
            b as &mut dyn CopyTo,
            at_a,
            at_b,
            ma.len(),
            mb.len(),
        )
    } else {
        (
            b as &mut dyn CopyTo,
            a as &mut dyn CopyTo,
            at_b,
            at_a,
            mb.len(),
            ma.len(),
        )
    };
    let text = text.as_bytes();
    emit(&text[..at_1])?;
    first.copy(&mut emit)?;
    emit(&text[at_1 + len_1..at_2])?;
    second.copy(&mut emit)?;
    emit(&text[at_2 + len_2..])?;
    emit(b"\n")?;
    match file {
        Some(f) => f
            .into_inner()
            .map_err(|e| could_not(e.into_error()))
            .map(drop),
        None => Ok(()),
    }
}

/// A spool of any element type, for [`write`].
trait CopyTo {
    fn copy(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>;
}

impl<T: Serialize> CopyTo for Spool<T> {
    fn copy(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        self.copy_to(emit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arrays_go_where_their_markers_are() {
        let dir = std::env::temp_dir().join(format!("rawget-spool-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.json");
        let (mut xs, mut ys) = (Spool::default(), Spool::<String>::default());
        for i in 0..10_000u32 {
            xs.push(&vec![i, i + 1]);
        }
        let doc = serde_json::json!({"before": 1, "xs": &xs, "middle": "m", "ys": &ys});
        let text = serde_json::to_string_pretty(&doc);
        write_report(Ok(()), text, (&mut xs, &mut ys), &path).unwrap();
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back["xs"].as_array().unwrap().len(), 10_000);
        assert_eq!(back["xs"][9_999], serde_json::json!([9_999, 10_000]));
        assert_eq!(back["ys"], serde_json::json!([]));
        assert_eq!(
            (back["before"].clone(), back["middle"].clone()),
            (1.into(), "m".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_exchange_keeps_its_error_and_still_writes_the_report() {
        let path = std::env::temp_dir().join(format!("rawget-spool-f-{}.json", std::process::id()));
        let (mut xs, mut ys) = (Spool::<u8>::default(), Spool::<u8>::default());
        ys.push(&7);
        let text = serde_json::to_string(&serde_json::json!({"xs": &xs, "ys": &ys}));
        let failed = Error::new(ErrorKind::Partial, "closed early");
        let e = write_report(Err(failed), text, (&mut xs, &mut ys), &path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Partial);
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, serde_json::json!({"xs": [], "ys": [7]}));
        std::fs::remove_file(&path).unwrap();
    }
}
