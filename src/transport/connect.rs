//! From a host name to its addresses.
//!
//! Owns `--resolve` (parsing [`ResolveOverride`] and applying it), name
//! resolution under the `--max-time` deadline, and `-4`/`-6` (which
//! addresses are kept). Connecting to them, racing, is `race.rs`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;

use super::{timed_out, ConnectOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::observe::trace::Trace;
use crate::target::Target;

/// `--resolve HOST:PORT:ADDR[,ADDR]...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    /// The host name as in the URL (compared case-insensitively); `*`
    /// matches any host.
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The addresses to use instead, in the order given.
    pub addrs: Vec<IpAddr>,
}

impl ResolveOverride {
    /// Parses `HOST:PORT:ADDR[,ADDR]...`; each ADDR may be an IPv6 literal,
    /// bracketed or not.
    pub fn parse(s: &str) -> Result<ResolveOverride> {
        let bad = || {
            Error::new(
                ErrorKind::Usage,
                format!("bad --resolve \"{s}\": expected HOST:PORT:ADDR[,ADDR]..."),
            )
        };
        let mut parts = s.splitn(3, ':');
        let (host, port, addrs) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs = addrs
            .split(',')
            .map(|a| {
                let a = a.trim().trim_start_matches('[').trim_end_matches(']');
                a.parse().map_err(|_| bad())
            })
            .collect::<Result<Vec<IpAddr>>>()?;
        Ok(ResolveOverride {
            host: host.to_ascii_lowercase(),
            port: port.parse().map_err(|_| bad())?,
            addrs,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.port == port && (self.host == "*" || self.host.eq_ignore_ascii_case(host))
    }
}

/// `--connect-to HOST1:PORT1:HOST2:PORT2`: requests for HOST1:PORT1 connect
/// to HOST2:PORT2 instead (Host, SNI and the certificate check keep the
/// URL's name). An empty HOST1 or PORT1 matches any; an empty HOST2 or
/// PORT2 keeps the URL's. IPv6 addresses go in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    from_host: Option<String>,
    from_port: Option<u16>,
    to_host: Option<String>,
    to_port: Option<u16>,
}

impl ConnectTo {
    /// Parses `HOST1:PORT1:HOST2:PORT2`.
    pub fn parse(s: &str) -> Result<ConnectTo> {
        let bad = || {
            Error::new(
                ErrorKind::Usage,
                format!("bad --connect-to \"{s}\": expected HOST1:PORT1:HOST2:PORT2"),
            )
        };
        let mut rest = s;
        let mut fields = Vec::with_capacity(4);
        for i in 0..4 {
            let (field, after) = if let Some(r) = rest.strip_prefix('[') {
                let (host, after) = r.split_once(']').ok_or_else(bad)?;
                (host, after)
            } else {
                let end = rest.find(':').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            fields.push(field);
            rest = match (i, after.strip_prefix(':')) {
                (3, _) if after.is_empty() => "",
                (0..=2, Some(r)) => r,
                _ => return Err(bad()),
            };
        }
        let host = |h: &str| (!h.is_empty()).then(|| h.to_ascii_lowercase());
        let port = |p: &str| -> Result<Option<u16>> {
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse().map(Some).map_err(|_| bad())
            }
        };
        Ok(ConnectTo {
            from_host: host(fields[0]),
            from_port: port(fields[1])?,
            to_host: host(fields[2]),
            to_port: port(fields[3])?,
        })
    }

    /// Where `host:port` connects to under this entry, if it applies.
    fn apply(&self, host: &str, port: u16) -> Option<(String, u16)> {
        let host_ok = self
            .from_host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host));
        if !host_ok || self.from_port.is_some_and(|p| p != port) {
            return None;
        }
        Some((
            self.to_host.clone().unwrap_or_else(|| host.to_owned()),
            self.to_port.unwrap_or(port),
        ))
    }
}

/// `-4` / `-6`: only addresses of one family are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `-4, --ipv4`.
    V4,
    /// `-6, --ipv6`.
    V6,
}

impl Family {
    fn keeps(self, addr: &SocketAddr) -> bool {
        match self {
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Resolves the target's `host:port`, honouring `--resolve`, `-4`/`-6` and
/// the deadline.
pub fn resolve(target: &Target, opts: &ConnectOptions, trace: &Trace) -> Result<Vec<SocketAddr>> {
    let to = opts
        .connect_to
        .iter()
        .find_map(|c| c.apply(&target.host, target.port));
    match to {
        Some((host, port)) => {
            trace.step(|| {
                format!(
                    "{}:{} connects to {host}:{port} (--connect-to)",
                    target.host, target.port
                )
            });
            resolve_host(&host, port, opts, trace)
        }
        None => resolve_host(&target.host, target.port, opts, trace),
    }
}

/// Resolves `host:port` (the origin's or a proxy's), honouring
/// `--resolve`, `-4`/`-6` and the deadline.
pub fn resolve_host(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Vec<SocketAddr>> {
    let addrs = lookup(host, port, opts, trace)?;
    let Some(family) = opts.family else {
        return Ok(addrs);
    };
    let kept: Vec<SocketAddr> = addrs.into_iter().filter(|a| family.keeps(a)).collect();
    if kept.is_empty() {
        return Err(Error::new(
            ErrorKind::Resolve,
            format!(
                "could not resolve host {host}: no {} address",
                family.name()
            ),
        ));
    }
    Ok(kept)
}

fn lookup(host: &str, port: u16, opts: &ConnectOptions, trace: &Trace) -> Result<Vec<SocketAddr>> {
    if let Some(o) = opts.resolve.iter().find(|o| o.matches(host, port)) {
        trace.step(|| {
            let list: Vec<String> = o.addrs.iter().map(IpAddr::to_string).collect();
            format!("{host}:{port} pinned to {} by --resolve", list.join(", "))
        });
        return Ok(o
            .addrs
            .iter()
            .map(|&ip| SocketAddr::new(ip, port))
            .collect());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    trace.step(|| format!("resolving {host}"));
    let name = host.to_owned();
    let lookup = move || {
        (name.as_str(), port)
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
        Error::new(ErrorKind::Resolve, format!("could not resolve host {host}")).with_source(e)
    })?;
    if addrs.is_empty() {
        return Err(Error::new(
            ErrorKind::Resolve,
            format!("could not resolve host {host}: no addresses"),
        ));
    }
    trace.step(|| {
        let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        format!("resolved {host} to {}", list.join(", "))
    });
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn resolve_override_forms() {
        let o = ResolveOverride::parse("example.com:443:127.0.0.1").unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.addrs),
            ("example.com", 443, vec![ip("127.0.0.1")])
        );
        let o = ResolveOverride::parse("Example.com:80:[::1]").unwrap();
        assert_eq!((o.host.as_str(), o.addrs), ("example.com", vec![ip("::1")]));
        assert_eq!(
            ResolveOverride::parse("h:80:::1").unwrap().addrs,
            vec![ip("::1")]
        );
        assert_eq!(
            ResolveOverride::parse("h:80:[::1],127.0.0.1")
                .unwrap()
                .addrs,
            vec![ip("::1"), ip("127.0.0.1")]
        );
        assert_eq!(
            ResolveOverride::parse("h:80:::1,[fe80::2]").unwrap().addrs,
            vec![ip("::1"), ip("fe80::2")]
        );
        for bad in ["h:80", "h:x:1.2.3.4", "h:80:nope", "h:80:1.2.3.4,", ""] {
            assert_eq!(
                ResolveOverride::parse(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn connect_to_forms() {
        let c = ConnectTo::parse("example.com:443:127.0.0.1:8443").unwrap();
        assert_eq!(
            c.apply("EXAMPLE.com", 443),
            Some(("127.0.0.1".into(), 8443))
        );
        assert_eq!(c.apply("example.com", 80), None);
        assert_eq!(c.apply("other.com", 443), None);
        let any = ConnectTo::parse("::[::1]:").unwrap();
        assert_eq!(any.apply("h", 81), Some(("::1".into(), 81)));
        let port_only = ConnectTo::parse("h:80::8080").unwrap();
        assert_eq!(port_only.apply("h", 80), Some(("h".into(), 8080)));
        for bad in [
            "",
            "a:1:b",
            "a:1:b:2:3",
            "a:x:b:2",
            "[::1:1:b:2",
            "a:1:b:99999",
        ] {
            assert_eq!(
                ConnectTo::parse(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn resolve_pins_any_host_and_keeps_one_family() {
        let mut opts = ConnectOptions {
            resolve: vec![ResolveOverride::parse("*:80:[::1],127.0.0.1").unwrap()],
            ..ConnectOptions::default()
        };
        let trace = Trace::new(false, false);
        let got = resolve_host("anything.test", 80, &opts, &trace).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ipv6() && got[1].is_ipv4());
        opts.family = Some(Family::V4);
        let got = resolve_host("anything.test", 80, &opts, &trace).unwrap();
        assert_eq!(got, vec!["127.0.0.1:80".parse().unwrap()]);
        opts.resolve = vec![ResolveOverride::parse("h:80:::1").unwrap()];
        let e = resolve_host("h", 80, &opts, &trace).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Resolve);
        assert_eq!(e.to_string(), "could not resolve host h: no IPv4 address");
    }
}
