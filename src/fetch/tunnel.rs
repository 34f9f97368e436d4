//! The connect step through a proxy: reach the proxy, then, for a tunnel,
//! the CONNECT exchange, read by the same [`Reader`] as any response (a
//! 2xx reply to CONNECT is a tunnel: RFC 9112 §6.3 rule 2). The reply head
//! is printed before the origin's, as curl prints it, unless
//! `--suppress-connect-headers`; `-v` shows the exchange byte for byte.
//! Through a SOCKS proxy the tunnel is the SOCKS handshake (`socks.rs`).

use std::net::TcpStream;

use crate::error::{connection_error, Doing, Error, ErrorKind, Result};
use crate::output::MAX_IOV;
use crate::response::reader::{Event, ReadError, Reader};
use crate::target::Target;
use crate::transport::{self, ProxyScheme, Route, Stream};

use super::conn::Conn;
use super::Fetch;

impl Fetch<'_> {
    /// A TCP connection to `route`'s proxy; through it, for a tunnel, to
    /// `target`. Errors name the proxy.
    pub(super) fn proxied(&mut self, target: &Target, route: &Route) -> Result<TcpStream> {
        let proxy = &route.proxy;
        let named = |e| named(e, route);
        self.trace
            .step(|| format!("using proxy {} (from {})", proxy.shown(), route.why));
        let copts = &self.opts.connect;
        let addrs = match transport::resolve_host(&proxy.host, proxy.port, copts, &self.trace) {
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
        let tcp = transport::connect(&addrs, copts, &self.trace).map_err(named)?;
        self.trace.timings.connect = Some(self.trace.elapsed());
        if !route.tunnel {
            return Ok(tcp);
        }
        match proxy.scheme {
            ProxyScheme::Http => self.tunnel(tcp, target, route),
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

    /// `CONNECT host:port` through the proxy on `tcp`; the socket back,
    /// now a tunnel to the origin, once the proxy said 2xx.
    fn tunnel(&mut self, tcp: TcpStream, target: &Target, route: &Route) -> Result<TcpStream> {
        let plan = &self.opts.connect.proxy;
        let auth = route.authorization(plan);
        let request =
            transport::connect_request(target, &self.opts.spec.user_agent, auth.as_deref());
        self.trace.step(|| {
            format!(
                "CONNECT tunnel to {}:{} through {}",
                target.host,
                target.port,
                route.proxy.shown()
            )
        });
        let mut conn = Conn::new(Stream::tcp(tcp, self.opts.connect.deadline));
        self.trace.request(&request);
        let (elapsed, received) = (self.trace.elapsed(), self.trace.timings.received);
        conn.send(&request)
            .map_err(|e| named(connection_error(e, Doing::Send, elapsed, received), route))?;
        let mut reader = Reader::new("CONNECT");
        let status = loop {
            let step = reader
                .read(conn.input(), &mut self.ranges, MAX_IOV)
                .map_err(proxy_reply)?;
            match step.event {
                Event::Head { head, interim } => {
                    let bytes = &conn.input()[..step.consumed];
                    self.trace.response(bytes);
                    if !plan.suppress_connect_headers {
                        self.heads.write(bytes, self.sink.out())?;
                    }
                    conn.consume(step.consumed);
                    if !interim {
                        break head.status;
                    }
                }
                Event::NeedMore => {
                    let more = conn.fill(Doing::Head, &mut self.raw, &mut self.trace);
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
        self.trace.step(|| "CONNECT tunnel established".to_owned());
        conn.into_stream()
            .into_tcp()
            .ok_or_else(|| Error::new(ErrorKind::Connect, "CONNECT tunnel over TLS"))
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
