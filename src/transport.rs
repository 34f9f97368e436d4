//! Getting a byte stream to the server: resolve, connect, TLS, deadlines.
//!
//! Resolution honours `--resolve`; every address is tried in turn until one
//! connects, each bounded by `--connect-timeout`, and everything by the
//! `--max-time` deadline. The [`Stream`] it returns is TCP or native-tls
//! over TCP, and enforces the deadline on every read and write, so a server
//! that stalls anywhere ends as exit 28 on time.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::target::Target;
use crate::trace::Trace;

/// `--resolve HOST:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    /// The host name as in the URL (compared case-insensitively).
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The address to use instead.
    pub addr: IpAddr,
}

impl ResolveOverride {
    /// Parses `HOST:PORT:ADDR`; ADDR may be an IPv6 literal, bracketed or not.
    pub fn parse(s: &str) -> Result<ResolveOverride> {
        let bad = || {
            Error::new(
                ErrorKind::Usage,
                format!("bad --resolve \"{s}\": expected HOST:PORT:ADDR"),
            )
        };
        let mut parts = s.splitn(3, ':');
        let (host, port, addr) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(ResolveOverride {
            host: host.to_ascii_lowercase(),
            port: port.parse().map_err(|_| bad())?,
            addr: addr.parse().map_err(|_| bad())?,
        })
    }
}

/// How to connect, from the options.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--resolve` entries.
    pub resolve: Vec<ResolveOverride>,
    /// `--connect-timeout`, per address.
    pub connect_timeout: Option<Duration>,
    /// When `--max-time` runs out.
    pub deadline: Option<Instant>,
    /// `-k`.
    pub insecure: bool,
    /// `--cacert`.
    pub cacert: Option<PathBuf>,
}

impl ConnectOptions {
    fn remaining(&self) -> Result<Option<Duration>> {
        match self.deadline {
            None => Ok(None),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(timed_out()),
            },
        }
    }
}

fn timed_out() -> Error {
    Error::new(ErrorKind::Timeout, "operation timed out (--max-time)")
}

/// Resolves `host:port`, honouring `--resolve` and the deadline.
pub fn resolve(target: &Target, opts: &ConnectOptions, trace: &Trace) -> Result<Vec<SocketAddr>> {
    if let Some(o) = opts
        .resolve
        .iter()
        .find(|o| o.port == target.port && o.host.eq_ignore_ascii_case(&target.host))
    {
        trace.step(|| {
            format!(
                "{}:{} pinned to {} by --resolve",
                target.host, target.port, o.addr
            )
        });
        return Ok(vec![SocketAddr::new(o.addr, target.port)]);
    }
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    trace.step(|| format!("resolving {}", target.host));
    let (host, port) = (target.host.clone(), target.port);
    let lookup = move || {
        (host.as_str(), port)
            .to_socket_addrs()
            .map(|a| a.collect::<Vec<_>>())
    };
    // getaddrinfo cannot be interrupted; under a deadline it runs on a thread
    // that is abandoned when time runs out.
    let found = match opts.remaining()? {
        None => lookup(),
        Some(left) => {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || tx.send(lookup()));
            rx.recv_timeout(left).map_err(|_| timed_out())?
        }
    };
    let addrs = found.map_err(|e| {
        Error::new(
            ErrorKind::Resolve,
            format!("could not resolve host {}", target.host),
        )
        .with_source(e)
    })?;
    if addrs.is_empty() {
        return Err(Error::new(
            ErrorKind::Resolve,
            format!("could not resolve host {}: no addresses", target.host),
        ));
    }
    trace.step(|| {
        let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        format!("resolved {} to {}", target.host, list.join(", "))
    });
    Ok(addrs)
}

/// Connects to the first address that accepts, in the order given.
pub fn connect(addrs: &[SocketAddr], opts: &ConnectOptions, trace: &Trace) -> Result<TcpStream> {
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for &addr in addrs {
        let limit = match (opts.connect_timeout, opts.remaining()?) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        trace.step(|| format!("trying {addr}"));
        let attempt = match limit {
            Some(limit) => TcpStream::connect_timeout(&addr, limit),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                // The request goes out in one write; no reason to wait for more.
                let _ = stream.set_nodelay(true);
                trace.step(|| format!("connected to {addr}"));
                return Ok(stream);
            }
            Err(e) => {
                trace.step(|| format!("{addr}: {e}"));
                last = Some((addr, e));
            }
        }
    }
    let Some((addr, e)) = last else {
        return Err(Error::new(
            ErrorKind::Connect,
            "could not connect: no addresses",
        ));
    };
    let kind = if is_timeout(&e) {
        ErrorKind::Timeout
    } else {
        ErrorKind::Connect
    };
    let msg = if addrs.len() == 1 {
        format!("could not connect to {addr}")
    } else {
        format!(
            "could not connect to any of {} addresses (last tried {addr})",
            addrs.len()
        )
    };
    Err(Error::new(kind, msg).with_source(e))
}

/// Wraps `tcp` in TLS for `target`: SNI and verification by native-tls.
pub fn tls_handshake(
    tcp: TcpStream,
    target: &Target,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Stream> {
    let connector = tls_connector(opts.insecure, opts.cacert.as_deref())?;
    set_timeouts(&tcp, opts.remaining()?)?;
    trace.step(|| format!("TLS handshake with {} (SNI)", target.host));
    match connector.connect(&target.host, EofWatch::new(tcp)) {
        Ok(tls) => {
            describe_tls(&tls, trace);
            Ok(Stream::new(Inner::Tls(Box::new(tls)), opts.deadline))
        }
        Err(native_tls::HandshakeError::WouldBlock(_)) => Err(timed_out()),
        Err(native_tls::HandshakeError::Failure(e)) => Err(classify_tls(e)),
    }
}

/// The TLS connector for `-k` and `--cacert`, as fetch and the echo client
/// use it: `-k` verifies nothing; `--cacert FILE` trusts the PEM
/// certificates in FILE instead of the system's (exit 26 when it cannot be
/// read or holds none).
pub(crate) fn tls_connector(
    insecure: bool,
    cacert: Option<&std::path::Path>,
) -> Result<native_tls::TlsConnector> {
    skip_eager_ca_bundle(insecure || cacert.is_some());
    let mut builder = native_tls::TlsConnector::builder();
    builder
        .danger_accept_invalid_certs(insecure)
        .danger_accept_invalid_hostnames(insecure);
    if insecure {
        // Nothing is verified, so the system trust store (144 certificates,
        // parsed on every connection) need not be loaded.
        builder.disable_built_in_roots(true);
    }
    if let Some(path) = cacert {
        let pem = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("could not read --cacert {}", path.display()),
            )
            .with_source(e)
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("bad certificate in {}", path.display()),
            )
            .with_source(e)
        })?;
        if certs.is_empty() {
            return Err(Error::new(
                ErrorKind::ReadInput,
                format!("no PEM certificate in {}", path.display()),
            ));
        }
        for cert in certs {
            builder.add_root_certificate(cert);
        }
        // curl's --cacert replaces the system's trust store; so does rawget's.
        builder.disable_built_in_roots(true);
    }
    builder
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, "could not set up TLS").with_source(e))
}

/// The negotiated protocol and cipher suite, read from the server's
/// ServerHello as it crossed the wire (RFC 8446 section 4.1.3; native-tls
/// does not report them). TLS 1.3 names itself in the supported_versions
/// extension; earlier versions in the legacy version field.
pub fn server_hello(bytes: &[u8]) -> Option<String> {
    let u16_at = |b: &[u8], i: usize| Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
    // Record: type 22 (handshake), version, length; then the handshake
    // message: type 2 (ServerHello), 24-bit length.
    if bytes.first() != Some(&22) || bytes.get(5) != Some(&2) {
        return None;
    }
    let msg = bytes.get(9..)?;
    let mut version = u16_at(msg, 0)?;
    let session_len = usize::from(*msg.get(34)?);
    let mut i = 35 + session_len;
    let cipher = u16_at(msg, i)?;
    i += 3; // cipher suite, compression method
    let extensions_end = i + 2 + usize::from(u16_at(msg, i)?);
    i += 2;
    while i + 4 <= extensions_end {
        let (kind, len) = (u16_at(msg, i)?, usize::from(u16_at(msg, i + 2)?));
        if kind == 0x002b && len == 2 {
            version = u16_at(msg, i + 4)?;
        }
        i += 4 + len;
    }
    let version = match version {
        0x0304 => "TLSv1.3".to_owned(),
        0x0303 => "TLSv1.2".to_owned(),
        0x0302 => "TLSv1.1".to_owned(),
        0x0301 => "TLSv1.0".to_owned(),
        v => format!("version 0x{v:04x}"),
    };
    let cipher = match cipher {
        0x1301 => "TLS_AES_128_GCM_SHA256".to_owned(),
        0x1302 => "TLS_AES_256_GCM_SHA384".to_owned(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".to_owned(),
        0xc02b => "ECDHE-ECDSA-AES128-GCM-SHA256".to_owned(),
        0xc02c => "ECDHE-ECDSA-AES256-GCM-SHA384".to_owned(),
        0xc02f => "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
        0xc030 => "ECDHE-RSA-AES256-GCM-SHA384".to_owned(),
        0xcca8 => "ECDHE-RSA-CHACHA20-POLY1305".to_owned(),
        0xcca9 => "ECDHE-ECDSA-CHACHA20-POLY1305".to_owned(),
        c => format!("cipher suite 0x{c:04x}"),
    };
    Some(format!("{version}, {cipher}"))
}

/// Keeps OpenSSL from parsing a whole CA bundle that will not be used.
///
/// native-tls loads the bundle file (144 certificates on Debian) and the
/// openssl crate's connector loads it again: about 480 million
/// instructions, 30 ms, before the handshake starts. With `-k` or
/// `--cacert` no system root is used at all, so the bundle file is pointed
/// at `/dev/null` for this process. Without them, and when the user has not
/// chosen `SSL_CERT_FILE`/`SSL_CERT_DIR`, the hashed directory
/// (`/etc/ssl/certs/<hash>.0`, kept by update-ca-certificates) gives the
/// same trust through lazy look-ups, as Debian's curl is built to use; a
/// bundle the user names is honoured.
fn skip_eager_ca_bundle(no_system_roots: bool) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let user_chose = std::env::var_os("SSL_CERT_FILE").is_some()
            || std::env::var_os("SSL_CERT_DIR").is_some();
        let hashed = || {
            std::fs::read_dir("/etc/ssl/certs").is_ok_and(|mut d| {
                d.any(|e| e.is_ok_and(|e| e.file_name().as_encoded_bytes().ends_with(b".0")))
            })
        };
        if no_system_roots || (!user_chose && hashed()) {
            // Set before any TLS code runs; the only other thread rawget may
            // have started (name resolution) has finished by now.
            std::env::set_var("SSL_CERT_FILE", "/dev/null");
        }
    });
}

/// Certificate problems are exit 60, anything else in the handshake exit 35.
pub(crate) fn classify_tls(e: native_tls::Error) -> Error {
    let text = e.to_string();
    if text.contains("certificate verify failed") {
        let why = text
            .rsplit_once('(')
            .map(|(_, r)| r.trim_end_matches(')').to_owned())
            .unwrap_or_else(|| "certificate verify failed".to_owned());
        Error::new(
            ErrorKind::CertVerify,
            format!("server certificate not verified: {why}"),
        )
    } else {
        Error::new(ErrorKind::Tls, "TLS handshake failed").with_source(e)
    }
}

fn describe_tls(tls: &native_tls::TlsStream<EofWatch>, trace: &Trace) {
    trace.step(|| match server_hello(&tls.get_ref().hello) {
        Some(hello) => format!("TLS handshake done: {hello}"),
        None => "TLS handshake done".to_owned(),
    });
    if !trace.verbose() {
        return;
    }
    match tls.peer_certificate() {
        Ok(Some(cert)) => match cert.to_der() {
            Ok(der) => {
                for line in certificate_lines(&der) {
                    trace.step(|| line);
                }
            }
            Err(e) => trace.step(|| format!("peer certificate unreadable: {e}")),
        },
        _ => trace.step(|| "no peer certificate".to_owned()),
    }
}

/// The peer certificate in a few lines: subject, issuer, validity, names.
#[cfg(target_os = "linux")]
pub fn certificate_lines(der: &[u8]) -> Vec<String> {
    let Ok(cert) = openssl::x509::X509::from_der(der) else {
        return vec![format!(
            "peer certificate: {} bytes, not parseable",
            der.len()
        )];
    };
    let name = |n: &openssl::x509::X509NameRef| {
        let parts: Vec<String> = n
            .entries()
            .map(|e| {
                let key = e.object().nid().short_name().unwrap_or("?");
                let value = e.data().to_string().unwrap_or_default();
                format!("{key}={value}")
            })
            .collect();
        parts.join(", ")
    };
    let names: Vec<String> = cert
        .subject_alt_names()
        .map(|alts| {
            alts.iter()
                .filter_map(|g| {
                    g.dnsname().map(str::to_owned).or_else(|| {
                        g.ipaddress().and_then(|ip| match ip.len() {
                            4 => <[u8; 4]>::try_from(ip)
                                .ok()
                                .map(|b| std::net::Ipv4Addr::from(b).to_string()),
                            16 => <[u8; 16]>::try_from(ip)
                                .ok()
                                .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                            _ => None,
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        format!("subject: {}", name(cert.subject_name())),
        format!("issuer: {}", name(cert.issuer_name())),
        format!("valid: {} to {}", cert.not_before(), cert.not_after()),
        format!(
            "names: {}",
            if names.is_empty() {
                "(none)".to_owned()
            } else {
                names.join(", ")
            }
        ),
    ]
}

/// The peer certificate in a few lines (only its size off Linux).
#[cfg(not(target_os = "linux"))]
pub fn certificate_lines(der: &[u8]) -> Vec<String> {
    vec![format!("peer certificate: {} bytes", der.len())]
}

/// Whether a TLS read error means the peer closed the TCP connection
/// without sending close_notify (OpenSSL 3 reports it as an error).
pub fn is_tls_truncation(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof || e.to_string().contains("unexpected eof")
}

fn set_timeouts(tcp: &TcpStream, limit: Option<Duration>) -> Result<()> {
    tcp.set_read_timeout(limit)
        .and_then(|_| tcp.set_write_timeout(limit))
        .map_err(|e| Error::new(ErrorKind::Recv, "could not set a socket timeout").with_source(e))
}

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
    /// The first bytes the server sent: its ServerHello, read for `-v`.
    hello: Vec<u8>,
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
    fn new(tcp: TcpStream) -> EofWatch {
        EofWatch {
            tcp,
            eof: false,
            hello: Vec::new(),
            ahead: vec![0; AHEAD],
            pos: 0,
            len: 0,
        }
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
            if self.hello.len() < HELLO_CAPTURE {
                let take = n.min(HELLO_CAPTURE - self.hello.len());
                self.hello.extend_from_slice(&self.ahead[..take]);
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

    fn new(inner: Inner, deadline: Option<Instant>) -> Stream {
        Stream {
            inner,
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

    /// The peer certificate summary (TLS only).
    pub fn certificate(&self) -> Option<Vec<String>> {
        match &self.inner {
            Inner::Tcp(_) => None,
            Inner::Tls(t) => {
                let der = t.peer_certificate().ok()??.to_der().ok()?;
                let mut lines = certificate_lines(&der);
                if let Some(hello) = server_hello(&t.get_ref().hello) {
                    lines.insert(0, format!("protocol: {hello}"));
                }
                Some(lines)
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_override_forms() {
        let o = ResolveOverride::parse("example.com:443:127.0.0.1").unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.addr),
            ("example.com", 443, "127.0.0.1".parse().unwrap())
        );
        let o = ResolveOverride::parse("Example.com:80:[::1]").unwrap();
        assert_eq!(
            (o.host.as_str(), o.addr),
            ("example.com", "::1".parse().unwrap())
        );
        assert_eq!(
            ResolveOverride::parse("h:80:::1").unwrap().addr,
            "::1".parse::<IpAddr>().unwrap()
        );
        for bad in ["h:80", "h:x:1.2.3.4", "h:80:nope", ""] {
            assert_eq!(
                ResolveOverride::parse(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    /// A ServerHello record: legacy version 1.2, a 32-byte session id,
    /// cipher `cipher`, and supported_versions when `tls13`.
    fn hello(cipher: u16, tls13: bool) -> Vec<u8> {
        let mut msg = vec![3, 3];
        msg.extend([7; 32]); // random
        msg.push(32);
        msg.extend([9; 32]); // session id
        msg.extend(cipher.to_be_bytes());
        msg.push(0); // compression
        let mut ext = vec![0x00, 0x33, 0, 2, 0, 0x1d]; // an unrelated extension
        if tls13 {
            ext.extend([0x00, 0x2b, 0, 2, 3, 4]);
        }
        msg.extend((ext.len() as u16).to_be_bytes());
        msg.extend(ext);
        let mut hs = vec![2, 0, (msg.len() >> 8) as u8, msg.len() as u8];
        hs.extend(msg);
        let mut rec = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend(hs);
        rec
    }

    #[test]
    fn server_hello_names_protocol_and_cipher() {
        assert_eq!(
            server_hello(&hello(0x1302, true)).as_deref(),
            Some("TLSv1.3, TLS_AES_256_GCM_SHA384")
        );
        assert_eq!(
            server_hello(&hello(0xc02f, false)).as_deref(),
            Some("TLSv1.2, ECDHE-RSA-AES128-GCM-SHA256")
        );
        assert_eq!(
            server_hello(&hello(0x1234, false)).as_deref(),
            Some("TLSv1.2, cipher suite 0x1234")
        );
    }

    #[test]
    fn server_hello_never_panics_on_garbage() {
        let good = hello(0x1301, true);
        for cut in 0..good.len() {
            let _ = server_hello(&good[..cut]);
        }
        assert_eq!(server_hello(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(server_hello(&[22, 3, 3, 0, 4, 1, 0, 0, 0]), None);
    }

    #[test]
    fn connect_refused_names_the_address() {
        // Bind then drop a listener to get a port that refuses.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let e = connect(
            &[addr],
            &ConnectOptions::default(),
            &Trace::new(false, false),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert_eq!(e.to_string(), format!("could not connect to {addr}"));
    }
}
