//! The connect step, one for every route and for both the fetch and
//! `rawget send`: from the target, the route (direct, a Unix socket, an
//! HTTP or https proxy, a CONNECT tunnel, SOCKS in `tunnel.rs`) and the
//! connect options to the connected [`Stream`], each step and its time
//! noted in the trace.
//!
//! The routes, and what the stream is for each:
//!
//! - direct: TCP to the origin (or `--connect-to`'s address), TLS for https;
//! - `--unix-socket`: the socket, TLS for https with the URL's name;
//! - `http://` proxy: TCP to the proxy (requests then go in absolute
//!   form), or a tunnel through it (`tunnel.rs`) and TLS to the origin;
//! - `https://` proxy: TLS to the proxy, verified against the proxy's
//!   name; a CONNECT tunnel inside it, and TLS to the origin inside that
//!   (the inner TLS reads and writes the outer stream in place).

use std::ops::Range;

use crate::error::Result;
use crate::observe::trace::Trace;
use crate::output::RawCapture;
use crate::target::Target;
use crate::transport::{self, ConnectOptions, ProxyScheme, Route, Socket, Stream};

use super::conn::Conn;

/// What the connect step needs beyond the options, borrowed from the
/// command that connects.
pub(crate) struct Dial<'a> {
    /// How to connect.
    pub opts: &'a ConnectOptions,
    /// The `User-Agent` a CONNECT request carries.
    pub user_agent: &'a str,
    /// Steps and times.
    pub trace: &'a mut Trace,
    /// `--save-raw`: a CONNECT reply is received bytes too.
    pub raw: &'a mut Option<RawCapture>,
    /// The reader's scratch list of body ranges.
    pub ranges: &'a mut Vec<Range<usize>>,
    /// Prints a CONNECT reply head where the command prints heads.
    pub connect_head: &'a mut dyn FnMut(&[u8]) -> Result<()>,
}

/// A connection made, and what the report says of it.
pub(crate) struct Connected {
    /// The connection to the origin (or the proxy, for absolute form).
    pub conn: Conn,
    /// The address connected to, `IP:PORT` (the proxy's through a proxy),
    /// or a Unix socket's path.
    pub address: Option<String>,
    /// The origin's certificate summary (https targets only).
    pub tls: Option<Vec<String>>,
}

/// The route to `target`: the proxy [`ProxyPlan::route`] chose, unless a
/// Unix socket is the connection (then no proxy is used, as `-v` says).
///
/// [`ProxyPlan::route`]: crate::transport::ProxyPlan::route
pub(crate) fn route(
    opts: &ConnectOptions,
    target: &Target,
    trace: &Trace,
) -> Result<Option<Route>> {
    let route = opts.proxy.route(target)?;
    match (&opts.unix_socket, route) {
        (Some(_), Some(route)) => {
            trace.step(|| format!("proxy {} not used: --unix-socket", route.proxy.shown()));
            Ok(None)
        }
        (_, route) => Ok(route),
    }
}

/// What `--dry-run` prints before the body: the request head as it would
/// go on the wire along the route: in absolute form to an HTTP proxy, or
/// after the CONNECT request of a tunnel (a SOCKS handshake is not HTTP
/// and is not shown).
pub(crate) fn dry_run_head(
    opts: &ConnectOptions,
    target: &Target,
    head: Vec<u8>,
    user_agent: &str,
) -> Result<Vec<u8>> {
    let quiet = Trace::new(false, false);
    let Some(route) = route(opts, target, &quiet)? else {
        return Ok(head);
    };
    let auth = route.authorization(&opts.proxy);
    if !route.proxy.scheme.is_http() {
        return Ok(head);
    }
    if route.forwards() {
        return Ok(transport::absolute_form(&head, target, auth.as_deref()));
    }
    let mut out = transport::connect_request(target, user_agent, auth.as_deref());
    out.extend_from_slice(&head);
    Ok(out)
}

impl Dial<'_> {
    /// Connects to `target` along `route` (`None`: direct; from [`route`]).
    pub fn connect(&mut self, target: &Target, route: Option<&Route>) -> Result<Connected> {
        // The server's own address, when nothing stands between: where a
        // second look at a failed TLS handshake may go.
        let mut server = None;
        let (socket, address) = match (&self.opts.unix_socket, route) {
            // [`route`] leaves out any proxy when a Unix socket is given.
            #[cfg(unix)]
            (Some(unix), _) => {
                let s = transport::connect_unix(unix, self.opts, self.trace)?;
                self.trace.timings.connect = Some(self.trace.elapsed());
                (Socket::Unix(s), Some(unix.shown()))
            }
            (_, Some(route)) if route.proxy.scheme == ProxyScheme::Https => {
                let stream = self.https_proxied(target, route)?;
                let address = stream.addrs().1.map(|a| a.to_string());
                if !target.tls {
                    return Ok(Connected {
                        conn: Conn::new(stream),
                        address,
                        tls: None,
                    });
                }
                (stream.into_socket(), address)
            }
            (_, Some(route)) => {
                let tcp = self.proxied(target, route)?;
                let address = tcp.peer_addr().ok().map(|a| a.to_string());
                (Socket::Tcp(tcp), address)
            }
            (_, None) => {
                let addrs = transport::resolve(target, self.opts, self.trace)?;
                self.trace.timings.dns = Some(self.trace.elapsed());
                let tcp = transport::connect(&addrs, self.opts, self.trace)?;
                self.trace.timings.connect = Some(self.trace.elapsed());
                server = tcp.peer_addr().ok();
                (Socket::Tcp(tcp), server.map(|a| a.to_string()))
            }
        };
        let (stream, tls) = if target.tls {
            let s = transport::tls_handshake(socket, server, target, self.opts, self.trace)?;
            self.trace.timings.tls = Some(self.trace.elapsed());
            let tls = s.certificate();
            (s, tls)
        } else {
            (Stream::plain(socket, self.opts.deadline), None)
        };
        Ok(Connected {
            conn: Conn::new(stream),
            address,
            tls,
        })
    }
}
