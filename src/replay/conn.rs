//! One client's connection, on its own thread: the TLS handshake when the
//! plan asks for it, reading and recording the request, sending the plan's
//! bytes in their pieces and delays, and ending as [`End`] says (the FIN
//! and drain, the reset, the hang), with the socket calls std lacks for
//! the reset. Returns a [`Report`] of what happened, for `-v`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use native_tls::TlsStream;

use super::plan::{End, Plan};
use super::server::Shared;
use super::tls;
use crate::error::{is_reset, is_timeout};

/// Largest request recorded per client; more is not read. Requests in tests
/// are small, and the cap keeps a misbehaving client from filling memory.
const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// How long, at most, the drain after [`End::Close`] waits for the client to
/// close its side.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long, at most, [`End::Reset`] waits for the sent bytes to leave the
/// send queue before resetting.
const RESET_WAIT: Duration = Duration::from_secs(5);

/// How often a hanging connection looks whether the server was dropped.
const HANG_POLL: Duration = Duration::from_millis(50);

/// What happened with one client, for `-v`.
#[derive(Default)]
pub(super) struct Report {
    /// Over TLS: the SNI seen, or why the handshake failed.
    tls: Option<String>,
    request_line: Option<String>,
    sent: usize,
    outcome: String,
}

impl Report {
    pub(super) fn line(&self, number: usize, peer: SocketAddr) -> String {
        let tls = self
            .tls
            .as_deref()
            .map_or(String::new(), |t| format!("{t}, "));
        let request = match &self.request_line {
            Some(line) => format!("{line:?}"),
            None => "(request not read)".to_string(),
        };
        format!(
            "replay: client {number} {peer}: {tls}{request}, sent {} bytes, {}",
            self.sent, self.outcome
        )
    }
}

/// One client's connection: plain TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// The TCP socket, for timeouts, the FIN, the reset and the drain
    /// below TLS.
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}

/// Serves one client according to `plan`.
pub(super) fn serve(stream: TcpStream, plan: &Plan, shared: &Shared) -> Report {
    let mut report = Report::default();
    let mut conn = match &plan.tls {
        None => Conn::Plain(stream),
        Some(identity) => {
            let (sni, handshake) = tls::handshake(stream, identity);
            shared.snis().push(sni.clone());
            match handshake {
                Ok(tls) => {
                    shared.handshakes.fetch_add(1, Ordering::SeqCst);
                    report.tls = Some(match &sni {
                        Some(name) => format!("TLS, SNI {name:?}"),
                        None => "TLS, no SNI".to_string(),
                    });
                    Conn::Tls(Box::new(tls))
                }
                Err(e) => {
                    report.tls = Some(format!("TLS handshake failed ({e})"));
                    report.outcome = "closed".to_string();
                    shared.handshake_failures().push(e);
                    return report;
                }
            }
        }
    };
    if plan.read_request {
        let request = read_request(&mut conn, plan.hang_limit);
        report.request_line = Some(request_line(&request));
        // Recorded before the reply, so a client that has seen the whole
        // response can rely on `requests()` already holding its request.
        shared.requests().push(request);
        shared.recorded.notify_all();
    }

    if let Err(e) = send(&mut conn, plan, &mut report.sent) {
        // The client went away mid-response: nothing left to end.
        report.outcome = if is_reset(&e) {
            format!("client closed during the response ({e})")
        } else {
            format!("write failed: {e}")
        };
        return report;
    }
    report.outcome = end(conn, plan, shared);
    report
}

/// Ends the connection as the plan says; returns what happened, for `-v`.
fn end(mut conn: Conn, plan: &Plan, shared: &Shared) -> String {
    match (plan.end, &mut conn) {
        (End::Close, Conn::Tls(tls)) => {
            // close_notify; the client's own, if it sends one, is drained.
            let notified = tls.shutdown();
            close(conn.tcp());
            match notified {
                Ok(()) => "closed with close_notify".to_string(),
                Err(e) => format!("close_notify failed ({e}), closed"),
            }
        }
        (End::CloseWithoutNotify, Conn::Tls(_)) => {
            close(conn.tcp());
            "closed without close_notify".to_string()
        }
        (End::Close | End::CloseWithoutNotify, Conn::Plain(_)) => {
            close(conn.tcp());
            "closed".to_string()
        }
        (End::Reset, _) => match wait_sent(conn.tcp(), plan.hang_limit.min(RESET_WAIT))
            .and_then(|()| set_linger_zero(conn.tcp()))
        {
            Ok(()) => "reset".to_string(),
            Err(e) => format!("reset failed ({e}), closed"),
        },
        (End::Hang, _) => {
            drain(conn.tcp(), Instant::now() + plan.hang_limit, Some(shared));
            "hung up".to_string()
        }
    }
}

/// The FIN, then a bounded drain of what the client still sends (below TLS:
/// raw bytes), so that closing with unread bytes never turns into a RST that
/// could destroy the response in the client's receive buffer.
fn close(tcp: &TcpStream) {
    let _ = tcp.shutdown(Shutdown::Write);
    drain(tcp, Instant::now() + DRAIN_LIMIT, None);
}

/// Writes the plan's bytes: one `write_all`, or pieces with a sleep before
/// each. Over TLS each piece is its own record.
fn send(conn: &mut Conn, plan: &Plan, sent: &mut usize) -> io::Result<()> {
    let bytes = plan.bytes();
    // A client that stops reading must not pin this thread forever.
    conn.tcp()
        .set_write_timeout(Some(plan.hang_limit).filter(|d| !d.is_zero()))?;
    let piece = plan.piece.filter(|&n| n > 0).unwrap_or(bytes.len().max(1));
    if plan.piece.is_some() {
        // Without NODELAY, Nagle would merge small pieces into one segment.
        conn.tcp().set_nodelay(true)?;
    }
    if bytes.is_empty() && !plan.delay.is_zero() {
        // "Close after a delay" still waits.
        thread::sleep(plan.delay);
    }
    for chunk in bytes.chunks(piece) {
        if !plan.delay.is_zero() {
            thread::sleep(plan.delay);
        }
        conn.write_all(chunk)?;
        *sent += chunk.len();
    }
    conn.flush()
}

/// Reads a request head (up to an empty line, CRLF or bare LF) and the
/// `Content-Length` body after it, bounded by `limit` in time and
/// [`MAX_REQUEST`] in size. Returns exactly the bytes read, complete or not.
fn read_request(conn: &mut Conn, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut want: Option<usize> = None;
    let mut chunk = [0u8; 8192];
    loop {
        if want.is_none() {
            if let Some(head_end) = head_end(&buf) {
                let body = content_length(&buf[..head_end]).unwrap_or(0);
                want = Some(head_end.saturating_add(body).min(MAX_REQUEST));
            }
        }
        if want.is_some_and(|w| buf.len() >= w) || buf.len() >= MAX_REQUEST {
            return buf;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.tcp().set_read_timeout(Some(left)).is_err() {
            return buf;
        }
        // Never read past the cap (a request beyond it is cut, not stored).
        let room = (MAX_REQUEST - buf.len()).min(chunk.len());
        match conn.read(&mut chunk[..room]) {
            Ok(0) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return buf,
        }
    }
}

/// The offset just past the empty line that ends a head, if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first valid `Content-Length` value in a request head.
fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(value).ok()?.trim().parse().ok()
    })
}

/// The request's first line, for the log.
fn request_line(request: &[u8]) -> String {
    let end = memchr::memchr2(b'\r', b'\n', request).unwrap_or(request.len());
    let line = String::from_utf8_lossy(&request[..end.min(200)]);
    line.into_owned()
}

/// Reads and discards until EOF, an error, `deadline`, or (when `shared` is
/// given) the server being dropped. Over TLS it reads below TLS: records are
/// discarded unread.
fn drain(mut stream: &TcpStream, deadline: Instant, shared: Option<&Shared>) {
    let mut sink = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.is_some_and(Shared::stopped) {
            return;
        }
        // Short slices when hanging, so a dropped server is noticed.
        let slice = if shared.is_some() {
            left.min(HANG_POLL)
        } else {
            left
        };
        if stream.set_read_timeout(Some(slice)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

/// Waits (bounded by `limit`) until the kernel's send queue is empty, since
/// an abortive close discards what is still queued and the plan says the
/// reset comes *after* the data. Linux only; elsewhere it returns at once.
#[cfg(target_os = "linux")]
fn wait_sent(stream: &TcpStream, limit: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + limit;
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int, the bytes not yet
        // acknowledged, into `queued`; the fd is open for the life of `stream`.
        let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if queued == 0 || Instant::now() >= deadline {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(not(target_os = "linux"))]
fn wait_sent(_stream: &TcpStream, _limit: Duration) -> io::Result<()> {
    Ok(())
}

/// Makes the coming close abortive: with `SO_LINGER {on, 0}` the kernel
/// discards unsent data and sends RST instead of FIN.
#[cfg(unix)]
fn set_linger_zero(stream: &TcpStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for the life of `stream`; the option value is a
    // valid `linger` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn set_linger_zero(_stream: &TcpStream) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_LINGER is only set on unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_takes_the_first_terminator() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nbody"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn content_length_is_found_case_insensitively() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH:  12 \r\n\r\n";
        assert_eq!(content_length(head), Some(12));
        assert_eq!(content_length(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(
            content_length(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            None
        );
    }

    #[test]
    fn request_line_stops_at_the_line_end() {
        assert_eq!(request_line(b"GET / HTTP/1.1\r\nHost: x"), "GET / HTTP/1.1");
        assert_eq!(request_line(b""), "");
    }
}
