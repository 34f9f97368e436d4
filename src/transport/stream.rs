//! The connection once it is up: [`Stream`], TCP or TLS, held to the
//! `--max-time` deadline on every read and write, and [`EofWatch`], the
//! socket under TLS that reads ahead and notes the peer's FIN.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::tls_info::TlsInfo;
use crate::error::is_timeout;

/// The TCP stream under TLS, reading ahead and noting when the peer's FIN
/// arrives.
///
/// Read-ahead: OpenSSL reads a record's 5-byte header, then its body, two
/// system calls per 16 KiB record; serving both from one large read here
/// cuts the calls by an order of magnitude.
///
/// FIN: OpenSSL as native-tls sets it up reports a TCP close without
/// close_notify as a clean end of stream; close_notify itself ends the TLS
/// stream without a further socket read. So "TLS says end of stream and the
/// socket saw EOF" means the peer closed without close_notify: a possible
/// truncation.
#[derive(Debug)]
pub struct EofWatch {
    tcp: TcpStream,
    eof: bool,
    /// The first bytes the server sent, its ServerHello, kept until the
    /// handshake takes them ([`EofWatch::take_hello`]).
    hello: Option<Vec<u8>>,
    ahead: Vec<u8>,
    pos: usize,
    len: usize,
}

/// Read-ahead buffer under TLS: several full records.
const AHEAD: usize = 128 * 1024;

/// How much of the server's first flight is kept to read its ServerHello.
const HELLO_CAPTURE: usize = 4096;

/// The largest TLS record on the wire: 16 KiB of data plus header, padding
/// and tag, rounded up.
pub const TLS_RECORD: usize = 16 * 1024 + 512;

impl EofWatch {
    pub(super) fn new(tcp: TcpStream) -> EofWatch {
        EofWatch {
            tcp,
            eof: false,
            hello: Some(Vec::new()),
            ahead: vec![0; AHEAD],
            pos: 0,
            len: 0,
        }
    }

    /// The server's first bytes, for [`TlsInfo`]; nothing is kept after.
    pub(super) fn take_hello(&mut self) -> Vec<u8> {
        self.hello.take().unwrap_or_default()
    }

    /// Bytes already read ahead: what TLS can decrypt without blocking.
    fn pending(&self) -> usize {
        self.len - self.pos
    }
}

impl Read for EofWatch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            if buf.len() >= AHEAD {
                let n = self.tcp.read(buf)?;
                self.eof |= n == 0;
                return Ok(n);
            }
            let n = self.tcp.read(&mut self.ahead)?;
            if n == 0 {
                self.eof = true;
                return Ok(0);
            }
            (self.pos, self.len) = (0, n);
            if let Some(hello) = &mut self.hello {
                let take = n.min(HELLO_CAPTURE.saturating_sub(hello.len()));
                hello.extend_from_slice(&self.ahead[..take]);
            }
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.ahead[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for EofWatch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

enum Inner {
    Tcp(TcpStream),
    Tls(Box<native_tls::TlsStream<EofWatch>>),
}

/// A connection to the server, TCP or TLS, held to the `--max-time` deadline.
pub struct Stream {
    inner: Inner,
    /// What the TLS handshake settled, read once (TLS only).
    tls_info: Option<TlsInfo>,
    deadline: Option<Instant>,
    /// When the socket timeout was last set to the time left; re-armed every
    /// 50 ms rather than on every read, so a stall overshoots the deadline by
    /// at most that much while a fast transfer makes no extra system calls.
    armed: Option<Instant>,
}

const REARM: Duration = Duration::from_millis(50);

impl Stream {
    /// A plain TCP stream.
    pub fn tcp(tcp: TcpStream, deadline: Option<Instant>) -> Stream {
        Stream::new(Inner::Tcp(tcp), deadline)
    }

    /// A TLS stream whose handshake is done and settled `info`.
    pub(super) fn tls(
        tls: Box<native_tls::TlsStream<EofWatch>>,
        info: TlsInfo,
        deadline: Option<Instant>,
    ) -> Stream {
        Stream {
            tls_info: Some(info),
            ..Stream::new(Inner::Tls(tls), deadline)
        }
    }

    fn new(inner: Inner, deadline: Option<Instant>) -> Stream {
        Stream {
            inner,
            tls_info: None,
            deadline,
            armed: None,
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    fn tcp_ref(&self) -> &TcpStream {
        match &self.inner {
            Inner::Tcp(t) => t,
            Inner::Tls(t) => &t.get_ref().tcp,
        }
    }

    /// The socket of a plain TCP stream (for splice), `None` under TLS.
    pub fn tcp_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match &self.inner {
            Inner::Tcp(t) => Some(t.as_raw_fd()),
            Inner::Tls(_) => None,
        }
    }

    /// Bytes a TLS stream holds read ahead, decryptable without blocking
    /// (0 for plain TCP, where one large read takes everything queued).
    pub fn tls_pending(&self) -> usize {
        match &self.inner {
            Inner::Tcp(_) => 0,
            Inner::Tls(t) => t.get_ref().pending(),
        }
    }

    /// Arms the socket timeout with the time left; `Err(TimedOut)` when none is.
    pub fn arm(&mut self) -> io::Result<()> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        let now = Instant::now();
        if self.armed.is_some_and(|a| now.duration_since(a) < REARM) {
            return Ok(());
        }
        let left = deadline
            .checked_duration_since(now)
            .filter(|d| !d.is_zero());
        let left =
            left.ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))?;
        self.tcp_ref().set_read_timeout(Some(left))?;
        self.tcp_ref().set_write_timeout(Some(left))?;
        self.armed = Some(now);
        Ok(())
    }

    /// What the TLS handshake settled (TLS only).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// The peer certificate summary for `--json` (TLS only): the protocol
    /// line, then the certificate's.
    pub fn certificate(&self) -> Option<Vec<String>> {
        self.tls_info.as_ref()?.summary()
    }

    /// Closes the connection without waiting for the peer.
    pub fn close(&mut self) {
        let _ = self.tcp_ref().shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.arm()?;
            let r = match &mut self.inner {
                Inner::Tcp(t) => t.read(buf),
                Inner::Tls(t) => match t.read(buf) {
                    Ok(0) if t.get_ref().eof && !buf.is_empty() => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "TLS connection closed without close_notify",
                    )),
                    other => other,
                },
            };
            match r {
                // The timeout fired while armed with an older "time left":
                // re-arm and go on until the real deadline.
                Err(e) if is_timeout(&e) && self.deadline.is_some_and(|d| Instant::now() < d) => {
                    self.armed = None;
                }
                other => return other,
            }
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        match &mut self.inner {
            Inner::Tcp(t) => t.write(buf),
            Inner::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Tcp(t) => t.flush(),
            Inner::Tls(t) => t.flush(),
        }
    }
}
