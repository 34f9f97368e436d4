//! The connect step through a proxy: reach the proxy, then, for a tunnel,
//! the CONNECT exchange, read by the same [`Reader`] as any response (a
//! 2xx reply to CONNECT is a tunnel: RFC 9112 §6.3 rule 2). The reply head
//! is printed before the origin's, as curl prints it, unless
//! `--suppress-connect-headers`; `-v` shows the exchange byte for byte.
//! An https proxy is reached over TLS first, verified against its own
//! name; the CONNECT exchange then runs inside that TLS.
//! Through a SOCKS proxy the tunnel is the SOCKS handshake (`socks.rs`).

use std::net::TcpStream;

use crate::error::{connection_error, Doing, Error, ErrorKind, Result};
use crate::output::MAX_IOV;
use crate::response::reader::{Event, ReadError, Reader};
use crate::target::Target;
use crate::transport::{self, ProxyScheme, Route, Stream};

use super::conn::Conn;
use super::dial::Dial;

impl Dial<'_> {
    /// A TCP connection to `route`'s proxy; through it, for a tunnel, to
    /// `target`. Errors name the proxy.
    pub(super) fn proxied(&mut self, target: &Target, route: &Route) -> Result<TcpStream> {
        let tcp = self.reach_proxy(route)?;
        if !route.tunnel {
            return Ok(tcp);
        }
        let proxy = &route.proxy;
        match proxy.scheme {
            ProxyScheme::Http => {
                let stream = Stream::tcp(tcp, self.opts.deadline);
                let tunnel = self.tunnel(stream, target, route)?.into_tcp();
                tunnel.ok_or_else(|| Error::new(ErrorKind::Connect, "CONNECT tunnel over TLS"))
            }
            ProxyScheme::Socks4
            | ProxyScheme::Socks4a
            | ProxyScheme::Socks5
            | ProxyScheme::Socks5h => self.socks(tcp, target, route),
            other => Err(Error::new(
                ErrorKind::Connect,
                format!("{} proxies are not supported yet", other.name()),
            )),
        }
    }

    /// TLS to `route`'s https proxy, verified against the proxy's name
    /// (`--proxy-cacert`, `--proxy-insecure`); through it, for a tunnel, to
    /// `target`: the stream a request in absolute form is written to, or
    /// the tunnel TLS to the origin goes inside.
    pub(super) fn https_proxied(&mut self, target: &Target, route: &Route) -> Result<Stream> {
        let tcp = self.reach_proxy(route)?;
        let host = &route.proxy.host;
        let tls = transport::proxy_tls_handshake(tcp, host, self.opts, self.trace);
        let stream = tls.map_err(|e| named(e, route))?;
        self.trace.timings.proxy_tls = Some(self.trace.elapsed());
        if !route.tunnel {
            return Ok(stream);
        }
        self.tunnel(stream, target, route)
    }

    /// Resolves and connects to `route`'s proxy, the times noted.
    fn reach_proxy(&mut self, route: &Route) -> Result<TcpStream> {
        let proxy = &route.proxy;
        let named = |e| named(e, route);
        self.trace
            .step(|| format!("using proxy {} (from {})", proxy.shown(), route.why));
        let copts = self.opts;
        let addrs = match transport::resolve_host(&proxy.host, proxy.port, copts, self.trace) {
            Ok(addrs) => addrs,
            // curl's exit 5, apart from the origin's 6.
            Err(e) if e.kind() == ErrorKind::Resolve => {
                return Err(Error::new(
                    ErrorKind::ProxyResolve,
                    format!("could not resolve proxy {}", proxy.host),
                )
                .with_source(e))
            }
            Err(e) => return Err(e),
        };
        self.trace.timings.dns = Some(self.trace.elapsed());
        let tcp = transport::connect(&addrs, copts, self.trace).map_err(named)?;
        let now = Some(self.trace.elapsed());
        (self.trace.timings.connect, self.trace.timings.proxy_connect) = (now, now);
        Ok(tcp)
    }

    /// `CONNECT host:port` through the proxy on `stream`; the stream back,
    /// now a tunnel to the origin, once the proxy said 2xx.
    fn tunnel(&mut self, stream: Stream, target: &Target, route: &Route) -> Result<Stream> {
        let plan = &self.opts.proxy;
        let auth = route.authorization(plan);
        let request = transport::connect_request(target, self.user_agent, auth.as_deref());
        self.trace.step(|| {
            format!(
                "CONNECT tunnel to {}:{} through {}",
                target.host,
                target.port,
                route.proxy.shown()
            )
        });
        let mut conn = Conn::new(stream);
        self.trace.request(&request);
        let (elapsed, received) = (self.trace.elapsed(), self.trace.timings.received);
        conn.send(&request)
            .map_err(|e| named(connection_error(e, Doing::Send, elapsed, received), route))?;
        let mut reader = Reader::new("CONNECT");
        let status = loop {
            let step = reader
                .read(conn.input(), self.ranges, MAX_IOV)
                .map_err(proxy_reply)?;
            match step.event {
                Event::Head { head, interim } => {
                    let bytes = &conn.input()[..step.consumed];
                    self.trace.response(bytes);
                    if !plan.suppress_connect_headers {
                        (self.connect_head)(bytes)?;
                    }
                    conn.consume(step.consumed);
                    if !interim {
                        break head.status;
                    }
                }
                Event::NeedMore => {
                    let more = conn.fill(Doing::Head, self.raw, self.trace);
                    if !more.map_err(|e| named(e, route))? {
                        reader.eof(false).map_err(proxy_reply)?;
                    }
                }
                Event::Body | Event::Done => return Err(proxy_reply(ReadError::CutHead)),
            }
        };
        if !(200..300).contains(&status) {
            // curl's words and exit code (56).
            return Err(Error::new(
                ErrorKind::Recv,
                format!("CONNECT tunnel failed, response {status}"),
            ));
        }
        // The origin speaks only after rawget does: anything already here
        // came from the proxy, past its reply.
        let extra = conn.input().len();
        if extra > 0 {
            return Err(Error::new(
                ErrorKind::Recv,
                format!("proxy CONNECT aborted: {extra} bytes came after its reply"),
            ));
        }
        self.trace.timings.tunnel = Some(self.trace.elapsed());
        // The first byte timed is the origin's, not the proxy's reply.
        self.trace.timings.first_byte = None;
        self.trace.step(|| "CONNECT tunnel established".to_owned());
        Ok(conn.into_stream())
    }
}

/// A reply to CONNECT that cannot be read (not HTTP, cut short, none):
/// exit 56 as curl's "Proxy CONNECT aborted", with what was wrong.
fn proxy_reply(e: ReadError) -> Error {
    Error::new(ErrorKind::Recv, "proxy CONNECT aborted").with_source(Error::from(e))
}

/// A failure reaching or talking to the proxy, named as the proxy's.
fn named(e: Error, route: &Route) -> Error {
    Error::new(e.kind(), format!("proxy {}", route.proxy.shown())).with_source(e)
}
