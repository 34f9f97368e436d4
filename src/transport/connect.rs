//! From a host name to a connected TCP socket.
//!
//! Owns `--resolve` (parsing [`ResolveOverride`] and applying it), name
//! resolution under the `--max-time` deadline, and connecting to each
//! resolved address in turn, each attempt bounded by `--connect-timeout`.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;

use super::{timed_out, ConnectOptions};
use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::observe::trace::Trace;
use crate::target::Target;

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
