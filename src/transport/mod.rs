//! Getting a byte stream to the server: resolve, connect, TLS, deadlines.
//!
//! Resolution honours `--resolve`; every address is tried in turn until one
//! connects, each bounded by `--connect-timeout`, and everything by the
//! `--max-time` deadline. The [`Stream`] it returns is plain or native-tls
//! over TCP, a Unix socket (`--unix-socket`) or, for TLS inside an https
//! proxy's TLS, another stream, and enforces the deadline on every read and
//! write, so a server that stalls anywhere ends as exit 28 on time.
//!
//! - `mod.rs`: [`ConnectOptions`], what every step reads, and the re-exports
//!   callers use (`crate::transport::{resolve, connect, ...}`).
//! - `connect.rs`: `--resolve` ([`ResolveOverride`]), name resolution,
//!   `-4`/`-6` ([`Family`]).
//! - `proxy.rs`: `-x` and friends ([`Proxy`], [`ProxyPlan`]): which proxy a
//!   target goes through, and the bytes an HTTP proxy is sent.
//! - `env.rs`: the proxy variables as curl reads them ([`ProxyEnv`]).
//! - `socks/`: the SOCKS4, 4a, 5 and 5h handshake, sans-I/O
//!   ([`SocksClient`]); the fetch drives it (`fetch/socks.rs`).
//! - `race.rs`: connecting, the addresses raced as RFC 8305 says (happy
//!   eyeballs).
//! - `socket.rs`: [`Socket`] (TCP, Unix, or a tunnel's stream); the
//!   deadline on every socket read and write, kept to a jiffy or two.
//! - `stream.rs`: [`Stream`], plain or TLS over a socket; [`EofWatch`],
//!   the read-ahead socket under TLS.
//! - `identity.rs`: the client certificate ([`ClientCert`]): `--cert`,
//!   `--key` and their types and passphrase, read into the identity the
//!   handshake offers (exit 58 when it cannot be used).
//! - `tls.rs`: the handshake, the CA-bundle workaround, and which exit code
//!   a handshake failure is.
//! - `tls_probe.rs`: a second handshake after a failed one, verifying
//!   nothing: the chain `-v` shows when verification failed, and whether a
//!   TLS 1.2 server had asked for a client certificate.
//! - `tls_info.rs`: [`TlsInfo`], the protocol, cipher and certificate the
//!   handshake settled, read once for both `-v` and `--report`.
//! - `unix.rs`: `--unix-socket` and `--abstract-unix-socket`.
//! - `poll.rs`: waiting on sockets (poll(2), WSAPoll on Windows).
//! - `pace.rs`: [`Pace`], naps instead of waits while a body streams in
//!   through a proxy, which then has nobody to wake.
//! - `verify.rs`: a refused certificate's X509 verify code, for `-w`.
//! - `splice.rs` (Linux): zero-copy bodies, socket to pipe to output.

// The crate will deny this in lib.rs once every module passes; this folder
// does already.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

mod connect;
mod env;
mod identity;
mod pace;
mod poll;
mod proxy;
mod race;
mod socket;
mod socks;
#[cfg(target_os = "linux")]
pub mod splice;
mod stream;
mod tls;
mod tls_info;
mod tls_probe;
#[cfg(unix)]
mod unix;
mod verify;

pub use crate::error::is_tls_truncation;
pub use connect::{resolve, resolve_host, ConnectTo, Family, ResolveOverride};
pub use env::{NoProxy, ProxyEnv};
pub use identity::{split_cert_arg, CertType, ClientCert, KeyType};
pub use pace::Pace;
pub use proxy::{absolute_form, connect_request, Proxy, ProxyPlan, ProxyScheme, Route};
pub use race::{connect, interleave};
pub use socket::Socket;
pub use socks::{
    converse, Bound, Conversation, Dest, Fed, Note, SocksClient, SocksError, SocksFailure,
    SocksVersion, Step,
};
pub use stream::{EofWatch, Stream, TLS_RECORD};
pub(crate) use tls::{certificate_alert, classify_tls, tls_connector};
pub use tls::{proxy_tls_handshake, tls_handshake};
pub use tls_info::{certificate_lines, server_hello, Peer, TlsInfo};
#[cfg(unix)]
pub use unix::connect_unix;
pub use verify::verify_result;

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
    /// `-4` / `-6`: only this family's addresses.
    pub family: Option<Family>,
    /// `--happy-eyeballs-timeout-ms`: how long an attempt runs alone before
    /// the next address is raced beside it (`None`: the default, 200 ms).
    pub attempt_delay: Option<Duration>,
    /// `--tlsv1.2` / `--tlsv1.3`: the lowest TLS version offered
    /// (`None`: native-tls's default, TLS 1.2).
    pub tls_min: Option<native_tls::Protocol>,
    /// `--tls-max`: the highest TLS version offered (`None`: the library's).
    pub tls_max: Option<native_tls::Protocol>,
    /// `--connect-to` entries, the first that applies wins.
    pub connect_to: Vec<ConnectTo>,
    /// `-x`, `--noproxy`, `-p`, `-U` and the proxy variables.
    pub proxy: ProxyPlan,
    /// `-E/--cert`, `--key`, `--cert-type`, `--key-type`, `--pass`.
    pub client_cert: Option<ClientCert>,
    /// `--unix-socket` / `--abstract-unix-socket`: connect there instead
    /// of to the URL's host (which still gives Host, the target and TLS).
    pub unix_socket: Option<UnixSocket>,
    /// `--proxy-insecure`: do not verify an https proxy's certificate.
    pub proxy_insecure: bool,
    /// `--proxy-cacert`: trust these PEM certificates for an https proxy.
    pub proxy_cacert: Option<PathBuf>,
}

/// Where `--unix-socket` / `--abstract-unix-socket` connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixSocket {
    /// A socket file.
    Path(PathBuf),
    /// A name in Linux's abstract namespace (no file).
    Abstract(String),
}

impl ConnectOptions {
    /// The time left before the deadline; `Err` (exit 28) when it has passed.
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
