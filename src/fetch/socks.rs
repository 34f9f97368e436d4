//! The SOCKS step of a proxied connect: the origin's address or name
//! chosen as the scheme says, then the sans-I/O [`SocksClient`] driven
//! over the TCP connection to the proxy, reading exactly what it asks for
//! (so nothing past the handshake is read), until it says the tunnel is
//! up. The socket is handed back as it was, a plain TCP stream to the
//! origin: TLS for an https target runs through it with the origin's name.
//!
//! As curl: any failure of the handshake is exit 97 (a close or a reset
//! included), a stall is exit 28 once `--connect-timeout` or `-m` runs
//! out, the origin's name failing to resolve (`socks4`, `socks5`) exit 6.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::target::Target;
use crate::transport::{self, Dest, ProxyScheme, Route, SocksClient, SocksVersion, Step, Stream};

use super::dial::Dial;

/// Rounds of the handshake at most: each reads a byte or more, or
/// consumes a message, and the longest handshake is three messages of at
/// most 262 bytes (SOCKS5's reply with a 255-byte name).
const MAX_ROUNDS: usize = 1024;

impl Dial<'_> {
    /// The SOCKS handshake on `tcp`, connected to `route`'s proxy: the
    /// socket back, now a tunnel to `target`.
    pub(super) fn socks(
        &mut self,
        tcp: TcpStream,
        target: &Target,
        route: &Route,
    ) -> Result<TcpStream> {
        let version = version(route.proxy.scheme);
        let shown = authority(&target.host, target.port);
        let dest = self.socks_dest(version, target)?;
        let how = match &dest {
            Dest::Name(..) => "remotely resolved".to_owned(),
            Dest::Addr(_) if target.host.parse::<IpAddr>().is_ok() => "an IP address".to_owned(),
            Dest::Addr(a) => format!("locally resolved to {}", a.ip()),
        };
        self.trace.step(|| {
            format!(
                "{} connect to {shown} ({how}) through {}",
                version.label(),
                route.proxy.shown()
            )
        });
        let credentials = route.credentials(&self.opts.proxy);
        let (mut client, first) = SocksClient::new(version, dest, shown, credentials)?;
        let (deadline, by) = handshake_deadline(self.opts);
        // The socket is used directly (not through `Conn`): these bytes are
        // the proxy's, not the origin's, so they are neither teed to
        // `--save-raw` nor counted as received, as curl counts them.
        let mut stream = Stream::tcp(tcp, deadline);
        let started = Instant::now();
        let failed = |e: std::io::Error| io_failure(e, version, route, started, by);
        stream.write_all(&first).map_err(failed)?;
        let mut pending: Vec<u8> = Vec::with_capacity(64);
        for _ in 0..MAX_ROUNDS {
            let fed = client.feed(&pending)?;
            pending.drain(..fed.consumed);
            if let Some(note) = fed.note {
                self.trace.step(|| note.to_string());
            }
            match fed.step {
                Step::Send(bytes) => stream.write_all(&bytes).map_err(failed)?,
                Step::NeedMore(n) => {
                    let mut chunk = [0u8; 512];
                    let got = stream.read(&mut chunk[..n.min(512)]).map_err(failed)?;
                    if got == 0 {
                        return Err(client.closed(pending.len()).into());
                    }
                    pending.extend_from_slice(&chunk[..got]);
                }
                Step::Done(bound) => {
                    self.trace
                        .step(|| format!("{} request granted (bound {bound})", version.label()));
                    return into_tunnel(stream);
                }
            }
        }
        Err(client.closed(pending.len()).into())
    }

    /// What the proxy is asked to connect to: an IP literal as an address;
    /// otherwise the name for `socks4a`/`socks5h`, or the address rawget
    /// resolves for `socks4` (the first IPv4 one) and `socks5` (the first,
    /// as curl sends it).
    fn socks_dest(&mut self, version: SocksVersion, target: &Target) -> Result<Dest> {
        if let Ok(ip) = target.host.parse::<IpAddr>() {
            // socks4a can carry an IPv6 literal only as a name.
            if ip.is_ipv4() || version != SocksVersion::V4a {
                return Ok(Dest::Addr(SocketAddr::new(ip, target.port)));
            }
        }
        if version.remote_names() {
            return Ok(Dest::Name(target.host.clone(), target.port));
        }
        let copts = self.opts;
        let addrs = transport::resolve_host(&target.host, target.port, copts, self.trace)?;
        let first = match version {
            SocksVersion::V4 => addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()),
            _ => addrs.first(),
        };
        first.map(|&a| Dest::Addr(a)).ok_or_else(|| {
            Error::new(
                ErrorKind::Resolve,
                format!("could not resolve host {}: no address", target.host),
            )
        })
    }
}

/// The SOCKS version of a SOCKS proxy scheme.
fn version(scheme: ProxyScheme) -> SocksVersion {
    match scheme {
        ProxyScheme::Socks4 => SocksVersion::V4,
        ProxyScheme::Socks4a => SocksVersion::V4a,
        ProxyScheme::Socks5 => SocksVersion::V5,
        // http and https never come here (tunnel.rs matches them first).
        _ => SocksVersion::V5h,
    }
}

/// `host:port`, an IPv6 host bracketed.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Which limit a stalled handshake runs into.
#[derive(Debug, Clone, Copy)]
enum Limit {
    ConnectTimeout,
    MaxTime,
}

/// The handshake is part of connecting, as in curl: bounded by
/// `--connect-timeout` (from the handshake's start: the TCP connect had
/// its own) and by `-m`, whichever ends first.
fn handshake_deadline(copts: &transport::ConnectOptions) -> (Option<Instant>, Limit) {
    let connect = copts.connect_timeout.map(|t| Instant::now() + t);
    match (connect, copts.deadline) {
        (Some(c), Some(m)) if c < m => (Some(c), Limit::ConnectTimeout),
        (Some(c), None) => (Some(c), Limit::ConnectTimeout),
        (_, m) => (m, Limit::MaxTime),
    }
}

/// A failed read or write on the proxy's socket: a timeout is exit 28;
/// anything else, a reset included, exit 97 as curl has it.
fn io_failure(
    e: std::io::Error,
    version: SocksVersion,
    route: &Route,
    started: Instant,
    by: Limit,
) -> Error {
    let proxy = route.proxy.shown();
    if is_timeout(&e) {
        let flag = match by {
            Limit::ConnectTimeout => "--connect-timeout",
            Limit::MaxTime => "--max-time",
        };
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "timed out after {} ms in the {} handshake with proxy {proxy} ({flag})",
                started.elapsed().as_millis(),
                version.label()
            ),
        );
    }
    Error::new(
        ErrorKind::Socks,
        format!("{} handshake with proxy {proxy} failed", version.label()),
    )
    .with_source(e)
}

/// The socket back from the handshake's stream, its socket timeouts
/// cleared: the origin's stream arms its own only under `-m`, and a
/// `--connect-timeout` left armed would end a slow body.
fn into_tunnel(stream: Stream) -> Result<TcpStream> {
    let tcp = stream
        .into_tcp()
        .ok_or_else(|| Error::new(ErrorKind::Connect, "SOCKS tunnel over TLS"))?;
    let none: Option<Duration> = None;
    tcp.set_read_timeout(none)
        .and_then(|()| tcp.set_write_timeout(none))
        .map_err(|e| Error::new(ErrorKind::Connect, "SOCKS tunnel").with_source(e))?;
    Ok(tcp)
}
