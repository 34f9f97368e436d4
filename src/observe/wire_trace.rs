//! `--trace FILE`, `--trace-ascii FILE`, `--trace-time`: every byte sent
//! and received, in curl's layout, so that tools and eyes used to curl's
//! traces read rawget's.
//!
//! ```text
//! == Info: connected to 127.0.0.1:8000
//! => Send header, 78 bytes (0x4e)
//! 0000: 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a GET / HTTP/1.1..
//! <= Recv header, 17 bytes (0x11)
//! <= Recv data, 5 bytes (0x5)
//! ```
//!
//! Unlike `--save-raw`, the request is there too. The request head and its
//! body are `Send header` and `Send data`; each received head line is its
//! own `Recv header` (as curl hands them over); body bytes are `Recv data`
//! as read, chunked framing included. [`dump`] is the formatting, pure;
//! [`WireTrace`] writes it to the file (or stderr for `-`), and a write
//! that fails turns the trace off rather than the fetch.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use crate::error::{Error, ErrorKind, Result};
use crate::output::diag;

/// The two layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `--trace`: offset, 16 bytes in hex, the same as text.
    Hex,
    /// `--trace-ascii`: offset and 64 bytes of text, a new line at CRLF.
    Ascii,
}

/// What a block of bytes is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `=> Send header`.
    SendHeader,
    /// `=> Send data`.
    SendData,
    /// `<= Recv header`.
    RecvHeader,
    /// `<= Recv data`.
    RecvData,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::SendHeader => "=> Send header",
            Kind::SendData => "=> Send data",
            Kind::RecvHeader => "<= Recv header",
            Kind::RecvData => "<= Recv data",
        }
    }
}

/// One block in curl's layout (`dump()` in curl's `tool_cb_dbg.c`):
/// the label line, then rows of offset, hex (under [`Layout::Hex`]) and
/// text, where bytes outside 0x20..0x7f are `.`.
pub fn dump(prefix: &str, kind: Kind, bytes: &[u8], layout: Layout) -> Vec<u8> {
    let width = match layout {
        Layout::Hex => 0x10,
        Layout::Ascii => 0x40,
    };
    let size = bytes.len();
    let mut out = format!("{prefix}{}, {size} bytes ({size:#x})\n", kind.label()).into_bytes();
    let crlf_at = |j: usize| j + 1 < size && bytes[j] == b'\r' && bytes[j + 1] == b'\n';
    let mut i = 0;
    while i < size {
        out.extend_from_slice(format!("{i:04x}: ").as_bytes());
        if layout == Layout::Hex {
            for c in 0..width {
                match bytes.get(i + c) {
                    Some(b) => out.extend_from_slice(format!("{b:02x} ").as_bytes()),
                    None => out.extend_from_slice(b"   "),
                }
            }
        }
        let mut next = i + width;
        for c in 0..width {
            let j = i + c;
            if j >= size {
                break;
            }
            // --trace-ascii: a CRLF ends the row and is not shown.
            if layout == Layout::Ascii && crlf_at(j) {
                next = j + 2;
                break;
            }
            let b = bytes[j];
            out.push(if (0x20..0x80).contains(&b) { b } else { b'.' });
            if layout == Layout::Ascii && crlf_at(j + 1) {
                next = j + 3;
                break;
            }
        }
        out.push(b'\n');
        i = next;
    }
    out
}

/// Where the trace goes, and how.
#[derive(Debug)]
pub struct WireTrace {
    /// `None`: stderr (`-`).
    file: Option<File>,
    layout: Layout,
    time: bool,
    /// A write failed: the trace is off, the fetch goes on.
    broken: bool,
}

impl WireTrace {
    /// Creates the trace file (`-`: stderr).
    pub fn open(path: &Path, layout: Layout, time: bool) -> Result<WireTrace> {
        let file = if path.as_os_str() == "-" {
            None
        } else {
            Some(File::create(path).map_err(|e| {
                Error::new(
                    ErrorKind::Write,
                    format!("could not create the trace file {}", path.display()),
                )
                .with_source(e)
            })?)
        };
        Ok(WireTrace {
            file,
            layout,
            time,
            broken: false,
        })
    }

    /// `== Info: TEXT`.
    pub fn info(&mut self, text: &str) {
        let line = format!("{}== Info: {text}\n", self.stamp());
        self.write(line.as_bytes());
    }

    /// A block of bytes sent or received.
    pub fn block(&mut self, kind: Kind, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let text = dump(&self.stamp(), kind, bytes, self.layout);
        self.write(&text);
    }

    /// A request as sent: its head, then its body.
    pub fn sent(&mut self, request: &[u8]) {
        let head_len = memchr::memmem::find(request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
        self.block(Kind::SendHeader, &request[..head_len]);
        self.block(Kind::SendData, &request[head_len..]);
    }

    /// Request body bytes written after the head (sent on their own when
    /// the head waited for `100 Continue`, or streamed).
    pub fn sent_data(&mut self, data: &[u8]) {
        self.block(Kind::SendData, data);
    }

    /// A head as received, one block per line (LF-terminated), as curl
    /// shows them.
    pub fn head(&mut self, head: &[u8]) {
        for line in head.split_inclusive(|&b| b == b'\n') {
            self.block(Kind::RecvHeader, line);
        }
    }

    /// `--trace-time`: the local wall-clock time, `HH:MM:SS.uuuuuu `.
    fn stamp(&self) -> String {
        if !self.time {
            return String::new();
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = local_seconds_of_day(now.as_secs());
        format!(
            "{:02}:{:02}:{:02}.{:06} ",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            now.subsec_micros()
        )
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        match &mut self.file {
            None => diag::write(bytes),
            Some(file) => {
                if let Err(e) = file.write_all(bytes) {
                    self.broken = true;
                    diag::line(format_args!(
                        "rawget: warning: trace file: {e}; trace stopped"
                    ));
                }
            }
        }
    }
}

/// Seconds since local midnight for a Unix time (curl stamps in local time).
#[cfg(unix)]
fn local_seconds_of_day(unix: u64) -> u64 {
    let t = libc::time_t::try_from(unix).unwrap_or_default();
    // SAFETY: tm is a plain C struct, for which all zeroes is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads `t` and writes only into `tm`; on failure
    // it returns null and `tm` stays zeroed.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return unix % 86_400;
    }
    (tm.tm_hour as u64) * 3600 + (tm.tm_min as u64) * 60 + tm.tm_sec as u64
}

/// Seconds since midnight UTC (no local-time lookup off Unix).
#[cfg(not(unix))]
fn local_seconds_of_day(unix: u64) -> u64 {
    unix % 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both expectations are curl 7.88.1's output for the same bytes
    // (`curl --trace` / `--trace-ascii` against a test server).
    #[test]
    fn hex_layout_is_curls() {
        let got = dump("", Kind::RecvHeader, b"HTTP/1.1 200 OK\r\n", Layout::Hex);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "<= Recv header, 17 bytes (0x11)\n\
             0000: 48 54 54 50 2f 31 2e 31 20 32 30 30 20 4f 4b 0d HTTP/1.1 200 OK.\n\
             0010: 0a                                              .\n"
        );
    }

    #[test]
    fn ascii_layout_breaks_at_crlf_and_hides_it() {
        let got = dump(
            "",
            Kind::SendHeader,
            b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            Layout::Ascii,
        );
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "=> Send header, 27 bytes (0x1b)\n\
             0000: GET / HTTP/1.1\n\
             0010: Host: h\n\
             0019: \n"
        );
        let got = dump("", Kind::RecvData, &[0, 0x1b, b'a', 0xff], Layout::Ascii);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "<= Recv data, 4 bytes (0x4)\n0000: ..a.\n"
        );
    }
}
