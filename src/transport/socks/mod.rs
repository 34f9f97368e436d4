//! The SOCKS client handshake, sans-I/O: SOCKS4 and SOCKS4a (the de-facto
//! spec, no RFC), SOCKS5 (RFC 1928) with username/password authentication
//! (RFC 1929). [`SocksClient`] is given the destination and credentials,
//! makes the bytes to send and is fed the bytes received; it never touches
//! a socket, so every way a reply can be cut is tested on bytes (and
//! fuzzed: `fuzz/fuzz_targets/socks.rs`). The fetch drives it over the
//! TCP connection to the proxy (`fetch/socks.rs`).
//!
//! Every field of every reply is checked (version byte, reply code,
//! method, address type, lengths); a decision is taken on the shortest
//! prefix that settles it, so a wrong version byte fails on the first byte
//! received, and the outcome never depends on how the reply is cut.
//! [`Step::NeedMore`] says how many more bytes are needed at least, and
//! never more than the message has: a driver that reads exactly that much
//! never reads past the handshake into the origin's bytes.
//!
//! - `mod.rs`: what the handshake is asked and answers: [`SocksVersion`],
//!   [`Dest`], [`Step`], [`Bound`], [`SocksError`] and the reply codes'
//!   meanings.
//! - `client.rs`: [`SocksClient`], the messages made and the replies read.
//! - `converse.rs`: [`converse`], a whole handshake played against given
//!   bytes cut as asked (the unit tests' and the fuzz target's driver).

use std::fmt;
use std::net::SocketAddr;

mod client;
mod converse;
#[cfg(test)]
mod tests;

pub use client::SocksClient;
pub use converse::{converse, Conversation};

/// The longest host name SOCKS5 (and so `socks5h://`) can carry: its
/// length is one byte (RFC 1928 §5).
pub const MAX_NAME: usize = 255;

/// The longest user name or password RFC 1929 can carry (one length byte).
pub const MAX_CREDENTIAL: usize = 255;

/// Which SOCKS, and who resolves the origin's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocksVersion {
    /// `socks4://`: rawget resolves; IPv4 only.
    V4,
    /// `socks4a://`: the proxy resolves (address 0.0.0.1, then the name).
    V4a,
    /// `socks5://`: rawget resolves; the first address is sent, as curl.
    V5,
    /// `socks5h://`: the proxy resolves the name.
    V5h,
}

impl SocksVersion {
    /// The protocol as messages name it (`SOCKS5` for both 5 and 5h).
    pub fn label(self) -> &'static str {
        match self {
            SocksVersion::V4 => "SOCKS4",
            SocksVersion::V4a => "SOCKS4a",
            SocksVersion::V5 | SocksVersion::V5h => "SOCKS5",
        }
    }

    /// Whether the proxy resolves the origin's name (`socks4a`, `socks5h`).
    pub fn remote_names(self) -> bool {
        matches!(self, SocksVersion::V4a | SocksVersion::V5h)
    }
}

/// Where the proxy is asked to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// An address rawget resolved (`socks4`, `socks5`), or an IP literal.
    Addr(SocketAddr),
    /// A host name for the proxy to resolve (`socks4a`, `socks5h`).
    Name(String, u16),
}

/// What the proxy says it bound for the tunnel (SOCKS5's BND.ADDR and
/// BND.PORT, SOCKS4's DSTIP and DSTPORT in the reply), shown under `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// An IPv4 or IPv6 address.
    Addr(SocketAddr),
    /// A domain name (SOCKS5 address type 3), as sent, lossily decoded.
    Name(String, u16),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Addr(a) => write!(f, "{a}"),
            Bound::Name(n, p) => write!(f, "{}:{p}", n.escape_debug()),
        }
    }
}

/// What went wrong in the handshake (always exit 97, curl's CURLE_PROXY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksFailure {
    /// `socks4://` to a host that has no IPv4 address.
    NoIpv4,
    /// A `socks5h://` host name longer than 255 bytes.
    NameTooLong(usize),
    /// A user name or password longer than 255 bytes.
    CredentialTooLong,
    /// A reply whose version byte is not the one expected.
    BadVersion {
        /// Which reply.
        what: &'static str,
        /// The byte expected.
        want: u8,
        /// The byte received.
        got: u8,
    },
    /// The proxy accepts none of the methods offered (method X'FF').
    NoAcceptableMethod {
        /// Whether username/password was offered.
        offered_auth: bool,
    },
    /// The proxy chose a method that was not offered.
    UnofferedMethod(u8),
    /// The proxy rejected the user name and password (RFC 1929 status).
    AuthRejected(u8),
    /// SOCKS5's connect reply is not "succeeded" (RFC 1928 §6).
    Refused5(u8),
    /// SOCKS4's reply is not 90, "request granted".
    Refused4(u8),
    /// SOCKS5's reply has an address type other than 1, 3 or 4.
    BadAddressType(u8),
    /// The proxy closed the connection before its reply was complete.
    Closed {
        /// What was awaited.
        what: &'static str,
        /// Its bytes received.
        got: usize,
    },
    /// Fed again after the handshake ended.
    Ended,
}

/// A failed SOCKS handshake, naming the protocol and the destination as
/// the user asked for it: `SOCKS5 connect to example.com:443 failed:
/// connection refused by destination host (reply 5)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksError {
    /// `SOCKS4`, `SOCKS4a` or `SOCKS5`.
    pub version: SocksVersion,
    /// `host:port` as the user asked for it.
    pub shown: String,
    /// What went wrong.
    pub failure: SocksFailure,
}

impl fmt::Display for SocksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.version.label();
        write!(f, "{v} connect to {} failed: ", self.shown)?;
        match &self.failure {
            SocksFailure::NoIpv4 => write!(
                f,
                "the host has no IPv4 address, and SOCKS4 carries only IPv4 \
                 (use socks4a:// or socks5h:// to let the proxy resolve it)"
            ),
            SocksFailure::NameTooLong(n) => write!(
                f,
                "the host name is {n} bytes, longer than the {MAX_NAME} SOCKS5 can carry"
            ),
            SocksFailure::CredentialTooLong => write!(
                f,
                "the user name or password is longer than the {MAX_CREDENTIAL} bytes \
                 SOCKS5 can carry"
            ),
            SocksFailure::BadVersion { what, want, got } => write!(
                f,
                "not a SOCKS reply: the {what} has version {got}, not {want}"
            ),
            SocksFailure::NoAcceptableMethod { offered_auth: true } => {
                write!(f, "the proxy accepts no authentication method offered")
            }
            SocksFailure::NoAcceptableMethod {
                offered_auth: false,
            } => write!(
                f,
                "the proxy requires authentication (give a user in the proxy URL or -U)"
            ),
            SocksFailure::UnofferedMethod(m) => write!(
                f,
                "the proxy chose authentication method {m}, which was not offered"
            ),
            SocksFailure::AuthRejected(s) => {
                write!(
                    f,
                    "authentication failed: user name and password rejected (status {s})"
                )
            }
            SocksFailure::Refused5(code) => write!(f, "{} (reply {code})", reply5(*code)),
            SocksFailure::Refused4(code) => write!(f, "{} (reply {code})", reply4(*code)),
            SocksFailure::BadAddressType(t) => {
                write!(f, "the reply has address type {t}, not 1, 3 or 4")
            }
            SocksFailure::Closed { what, got: 0 } => {
                write!(f, "the proxy closed the connection before the {what}")
            }
            SocksFailure::Closed { what, got } => {
                let s = if *got == 1 { "" } else { "s" };
                write!(
                    f,
                    "the proxy closed the connection {got} byte{s} into the {what}"
                )
            }
            SocksFailure::Ended => write!(f, "the handshake had already ended"),
        }
    }
}

impl std::error::Error for SocksError {}

/// SOCKS5's reply codes (RFC 1928 §6).
fn reply5(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused by destination host",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown SOCKS5 reply code",
    }
}

/// SOCKS4's reply codes (the de-facto spec, "SOCKS: A protocol for
/// TCP proxy across firewalls").
fn reply4(code: u8) -> &'static str {
    match code {
        91 => "request rejected or failed",
        92 => "request rejected: the proxy cannot reach identd on the client",
        93 => "request rejected: identd reports a different user id",
        _ => "unknown SOCKS4 reply code",
    }
}

/// Something worth a `-v` line, said as the handshake goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The SOCKS5 method the proxy chose.
    Method(&'static str),
    /// RFC 1929 authentication succeeded.
    AuthOk,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Method(m) => write!(f, "SOCKS5 method: {m}"),
            Note::AuthOk => write!(f, "SOCKS5 authentication succeeded"),
        }
    }
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Feed at least this many more bytes (beyond those fed); never more
    /// than the awaited message has left.
    NeedMore(usize),
    /// Send these bytes, then feed what follows.
    Send(Vec<u8>),
    /// The tunnel is up: the proxy's bound address.
    Done(Bound),
}

/// One call to [`SocksClient::feed`]: how much input was used, what next,
/// and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of the input consumed (a whole message, or none).
    pub consumed: usize,
    /// What next.
    pub step: Step,
    /// A `-v` line, if this step settled something.
    pub note: Option<Note>,
}
