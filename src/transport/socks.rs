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

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// What the client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// SOCKS4's 8-byte reply.
    Reply4,
    /// SOCKS5's method selection: VER, METHOD.
    Method,
    /// RFC 1929's status: VER, STATUS.
    Auth,
    /// SOCKS5's reply: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.
    Reply5,
    /// Done or failed: nothing more.
    Ended,
}

/// The client side of one SOCKS handshake.
#[derive(Debug)]
pub struct SocksClient {
    version: SocksVersion,
    dest: Dest,
    shown: String,
    /// RFC 1929 user name and password (SOCKS5), or the user id (SOCKS4).
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    state: State,
}

/// SOCKS5 methods (RFC 1928 §3).
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;

impl SocksClient {
    /// A handshake asking `version`'s proxy to connect to `dest` (`shown`
    /// is `host:port` as the user gave it, for messages), and the first
    /// bytes to send. `credentials`, a user and a password, are offered by
    /// SOCKS5 as RFC 1929 authentication; SOCKS4 sends the user as its
    /// user id (and no password: it has none).
    pub fn new(
        version: SocksVersion,
        dest: Dest,
        shown: String,
        credentials: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(SocksClient, Vec<u8>), SocksError> {
        let mut client = SocksClient {
            version,
            dest,
            shown,
            credentials,
            state: State::Ended,
        };
        let first = match version {
            SocksVersion::V4 | SocksVersion::V4a => client.request4()?,
            SocksVersion::V5 | SocksVersion::V5h => client.greeting5()?,
        };
        Ok((client, first))
    }

    fn fail(&mut self, failure: SocksFailure) -> SocksError {
        self.state = State::Ended;
        SocksError {
            version: self.version,
            shown: self.shown.clone(),
            failure,
        }
    }

    /// The error for a proxy that closed the connection after `got` bytes
    /// of the message awaited (the bytes fed and not consumed).
    pub fn closed(&mut self, got: usize) -> SocksError {
        let what = match self.state {
            State::Reply4 => "SOCKS4 reply",
            State::Method => "SOCKS5 method negotiation",
            State::Auth => "SOCKS5 authentication",
            State::Reply5 => "SOCKS5 connect reply",
            State::Ended => "handshake",
        };
        self.fail(SocksFailure::Closed { what, got })
    }

    /// SOCKS4 and 4a's request: VN 4, CD 1 (connect), DSTPORT, DSTIP,
    /// USERID, NUL; for 4a, DSTIP 0.0.0.1 and the host name, NUL, after.
    fn request4(&mut self) -> Result<Vec<u8>, SocksError> {
        let (ip, port, name) = match &self.dest {
            Dest::Addr(SocketAddr::V4(a)) => (*a.ip(), a.port(), None),
            Dest::Addr(SocketAddr::V6(_)) => return Err(self.fail(SocksFailure::NoIpv4)),
            Dest::Name(n, port) => (Ipv4Addr::new(0, 0, 0, 1), *port, Some(n.clone())),
        };
        let mut out = vec![4, 1];
        out.extend_from_slice(&port.to_be_bytes());
        out.extend_from_slice(&ip.octets());
        if let Some((user, _)) = &self.credentials {
            // The user id ends at a NUL: one inside it would cut it there.
            out.extend(user.iter().copied().take_while(|&b| b != 0));
        }
        out.push(0);
        if let Some(name) = name {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
        }
        self.state = State::Reply4;
        Ok(out)
    }

    /// SOCKS5's greeting: VER 5, NMETHODS, METHODS. Username/password is
    /// offered beside "no authentication" when there are credentials, as
    /// curl does, so a proxy that needs none still works.
    fn greeting5(&mut self) -> Result<Vec<u8>, SocksError> {
        if let Dest::Name(name, _) = &self.dest {
            if name.len() > MAX_NAME {
                let n = name.len();
                return Err(self.fail(SocksFailure::NameTooLong(n)));
            }
        }
        if let Some((user, pass)) = &self.credentials {
            if user.len() > MAX_CREDENTIAL || pass.len() > MAX_CREDENTIAL {
                return Err(self.fail(SocksFailure::CredentialTooLong));
            }
        }
        self.state = State::Method;
        Ok(match self.credentials {
            Some(_) => vec![5, 2, NO_AUTH, USER_PASS],
            None => vec![5, 1, NO_AUTH],
        })
    }

    /// RFC 1929's request: VER 1, ULEN, UNAME, PLEN, PASSWD.
    fn auth5(&self) -> Vec<u8> {
        let (user, pass) = self
            .credentials
            .as_ref()
            .map_or((&[][..], &[][..]), |(u, p)| (u.as_slice(), p.as_slice()));
        let mut out = vec![1];
        // Lengths were checked against MAX_CREDENTIAL in `greeting5`.
        out.push(user.len() as u8);
        out.extend_from_slice(user);
        out.push(pass.len() as u8);
        out.extend_from_slice(pass);
        out
    }

    /// SOCKS5's request: VER 5, CMD 1 (connect), RSV 0, ATYP, DST.ADDR,
    /// DST.PORT.
    fn request5(&self) -> Vec<u8> {
        let mut out = vec![5, 1, 0];
        let port = match &self.dest {
            Dest::Addr(SocketAddr::V4(a)) => {
                out.push(1);
                out.extend_from_slice(&a.ip().octets());
                a.port()
            }
            Dest::Addr(SocketAddr::V6(a)) => {
                out.push(4);
                out.extend_from_slice(&a.ip().octets());
                a.port()
            }
            Dest::Name(name, port) => {
                out.push(3);
                // Checked against MAX_NAME in `greeting5`.
                out.push(name.len() as u8);
                out.extend_from_slice(name.as_bytes());
                *port
            }
        };
        out.extend_from_slice(&port.to_be_bytes());
        out
    }

    /// Feeds the bytes received and not yet consumed. A message is
    /// consumed whole once complete; until then nothing is, and
    /// [`Step::NeedMore`] says how many more bytes it needs at least.
    pub fn feed(&mut self, input: &[u8]) -> Result<Fed, SocksError> {
        match self.state {
            State::Reply4 => self.reply4(input),
            State::Method => self.method(input),
            State::Auth => self.auth(input),
            State::Reply5 => self.reply5(input),
            State::Ended => Err(self.fail(SocksFailure::Ended)),
        }
    }

    /// SOCKS4's reply: VN 0, CD, DSTPORT, DSTIP (8 bytes). curl insists on
    /// VN 0 as the spec says, and so does rawget.
    fn reply4(&mut self, input: &[u8]) -> Result<Fed, SocksError> {
        if let Some(&vn) = input.first() {
            if vn != 0 {
                let what = "SOCKS4 reply";
                return Err(self.fail(SocksFailure::BadVersion {
                    what,
                    want: 0,
                    got: vn,
                }));
            }
        }
        if let Some(&cd) = input.get(1) {
            if cd != 90 {
                return Err(self.fail(SocksFailure::Refused4(cd)));
            }
        }
        let Some(reply) = input.get(..8) else {
            return Ok(need(8 - input.len()));
        };
        let port = u16::from_be_bytes([reply[2], reply[3]]);
        let ip = Ipv4Addr::new(reply[4], reply[5], reply[6], reply[7]);
        self.state = State::Ended;
        Ok(Fed {
            consumed: 8,
            step: Step::Done(Bound::Addr(SocketAddr::new(IpAddr::V4(ip), port))),
            note: None,
        })
    }

    /// SOCKS5's method selection: VER 5, METHOD.
    fn method(&mut self, input: &[u8]) -> Result<Fed, SocksError> {
        self.version5(input, "SOCKS5 method selection")?;
        let Some(reply) = input.get(..2) else {
            return Ok(need(2 - input.len()));
        };
        let offered_auth = self.credentials.is_some();
        let (step, note) = match reply[1] {
            NO_AUTH => {
                self.state = State::Reply5;
                (self.request5(), "no authentication")
            }
            USER_PASS if offered_auth => {
                self.state = State::Auth;
                (self.auth5(), "username/password (RFC 1929)")
            }
            NO_ACCEPTABLE => {
                return Err(self.fail(SocksFailure::NoAcceptableMethod { offered_auth }))
            }
            other => return Err(self.fail(SocksFailure::UnofferedMethod(other))),
        };
        Ok(Fed {
            consumed: 2,
            step: Step::Send(step),
            note: Some(Note::Method(note)),
        })
    }

    /// RFC 1929's status: VER, STATUS (0 is success). The version is 1 by
    /// the RFC; some proxies answer 5 (the SOCKS version), which curl
    /// accepts too (it ignores the byte), so both are taken.
    fn auth(&mut self, input: &[u8]) -> Result<Fed, SocksError> {
        if let Some(&ver) = input.first() {
            if ver != 1 && ver != 5 {
                let what = "authentication reply";
                return Err(self.fail(SocksFailure::BadVersion {
                    what,
                    want: 1,
                    got: ver,
                }));
            }
        }
        let Some(reply) = input.get(..2) else {
            return Ok(need(2 - input.len()));
        };
        if reply[1] != 0 {
            return Err(self.fail(SocksFailure::AuthRejected(reply[1])));
        }
        self.state = State::Reply5;
        Ok(Fed {
            consumed: 2,
            step: Step::Send(self.request5()),
            note: Some(Note::AuthOk),
        })
    }

    /// SOCKS5's reply: VER 5, REP (0 is success), RSV, ATYP, BND.ADDR
    /// (4 or 16 bytes, or a length byte and a name), BND.PORT. RSV is not
    /// checked: RFC 1928 asks senders to set it to 0 and says nothing of
    /// receivers, and curl ignores it.
    fn reply5(&mut self, input: &[u8]) -> Result<Fed, SocksError> {
        self.version5(input, "SOCKS5 connect reply")?;
        if let Some(&rep) = input.get(1) {
            if rep != 0 {
                return Err(self.fail(SocksFailure::Refused5(rep)));
            }
        }
        let Some(&atyp) = input.get(3) else {
            // VER, REP, RSV, ATYP and the first address byte, which is
            // there whatever the type.
            return Ok(need(5 - input.len()));
        };
        let len = match atyp {
            1 => 4 + 4 + 2,
            4 => 4 + 16 + 2,
            3 => match input.get(4) {
                Some(&n) => 4 + 1 + usize::from(n) + 2,
                None => return Ok(need(5 - input.len())),
            },
            other => return Err(self.fail(SocksFailure::BadAddressType(other))),
        };
        let Some(reply) = input.get(..len) else {
            return Ok(need(len - input.len()));
        };
        let port = u16::from_be_bytes([reply[len - 2], reply[len - 1]]);
        let addr = &reply[4..len - 2];
        let bound = match atyp {
            1 => Bound::Addr(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])),
                port,
            )),
            4 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(addr);
                Bound::Addr(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
            }
            _ => Bound::Name(String::from_utf8_lossy(&addr[1..]).into_owned(), port),
        };
        self.state = State::Ended;
        Ok(Fed {
            consumed: len,
            step: Step::Done(bound),
            note: None,
        })
    }

    /// Checks a SOCKS5 reply's version byte, if it has arrived.
    fn version5(&mut self, input: &[u8], what: &'static str) -> Result<(), SocksError> {
        match input.first() {
            Some(&got) if got != 5 => {
                Err(self.fail(SocksFailure::BadVersion { what, want: 5, got }))
            }
            _ => Ok(()),
        }
    }
}

/// Nothing consumed; `n` more bytes needed.
fn need(n: usize) -> Fed {
    Fed {
        consumed: 0,
        step: Step::NeedMore(n),
        note: None,
    }
}

/// A whole handshake played against `reply`, all the proxy sends, fed
/// in pieces whose sizes `chunk` picks from the bytes the client asked
/// for (clamped to at least 1 and to what is left): the unit tests and the
/// fuzz target (`fuzz/fuzz_targets/socks.rs`) drive the client through it,
/// as the fetch does through a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Every message the client sent, the greeting first.
    pub sent: Vec<Vec<u8>>,
    /// How the handshake ended.
    pub outcome: Result<Bound, SocksError>,
    /// Bytes of `reply` the client consumed.
    pub used: usize,
    /// Whether a message was complete with bytes after it already fed:
    /// never, when each piece is at most what was asked for.
    pub overread: bool,
}

/// Plays `client` (its `first` bytes already made) against `reply`; see
/// [`Conversation`].
pub fn converse(
    mut client: SocksClient,
    first: Vec<u8>,
    reply: &[u8],
    mut chunk: impl FnMut(usize) -> usize,
) -> Conversation {
    let mut sent = vec![first];
    let (mut fed, mut used, mut overread) = (0usize, 0usize, false);
    // Each round feeds a byte or more, or consumes a message: bounded.
    for _ in 0..reply.len() * 2 + 16 {
        let step = match client.feed(&reply[used..fed]) {
            Ok(step) => step,
            Err(e) => return end(sent, Err(e), used, overread),
        };
        if step.consumed > 0 {
            used += step.consumed;
            overread |= used < fed;
        }
        match step.step {
            Step::Send(bytes) => sent.push(bytes),
            Step::Done(bound) => return end(sent, Ok(bound), used, overread),
            Step::NeedMore(n) => {
                if fed == reply.len() {
                    let e = client.closed(fed - used);
                    return end(sent, Err(e), used, overread);
                }
                let left = reply.len() - fed;
                fed += chunk(n).clamp(1, left);
            }
        }
    }
    let e = client.closed(fed - used);
    end(sent, Err(e), used, overread)
}

fn end(
    sent: Vec<Vec<u8>>,
    outcome: Result<Bound, SocksError>,
    used: usize,
    overread: bool,
) -> Conversation {
    Conversation {
        sent,
        outcome,
        used,
        overread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: &str) -> Dest {
        Dest::Addr(a.parse().unwrap())
    }

    fn name(n: &str, port: u16) -> Dest {
        Dest::Name(n.to_owned(), port)
    }

    fn creds(u: &str, p: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        Some((u.as_bytes().to_vec(), p.as_bytes().to_vec()))
    }

    fn client(
        version: SocksVersion,
        dest: Dest,
        credentials: Option<(Vec<u8>, Vec<u8>)>,
    ) -> (SocksClient, Vec<u8>) {
        SocksClient::new(version, dest, "example.com:443".into(), credentials).unwrap()
    }

    /// Plays the handshake against `reply` whole, then cut at every point
    /// into two, then a byte at a time, then in pieces exactly as asked;
    /// asserts all agree, and returns the conversation.
    fn every_cut(
        version: SocksVersion,
        dest: Dest,
        credentials: Option<(Vec<u8>, Vec<u8>)>,
        reply: &[u8],
    ) -> Conversation {
        let play = |chunk: &mut dyn FnMut(usize) -> usize| {
            let (c, first) = client(version, dest.clone(), credentials.clone());
            converse(c, first, reply, chunk)
        };
        let whole = play(&mut |_| usize::MAX);
        for cut in 0..=reply.len() {
            let mut first = true;
            let split = play(&mut |_| {
                if std::mem::take(&mut first) {
                    cut
                } else {
                    usize::MAX
                }
            });
            assert_eq!(
                (&split.sent, &split.outcome, split.used),
                (&whole.sent, &whole.outcome, whole.used),
                "cut at {cut}"
            );
        }
        let bytewise = play(&mut |_| 1);
        assert_eq!(
            (&bytewise.sent, &bytewise.outcome),
            (&whole.sent, &whole.outcome)
        );
        assert!(!bytewise.overread);
        let asked = play(&mut |n| n);
        assert_eq!((&asked.sent, &asked.outcome), (&whole.sent, &whole.outcome));
        assert!(!asked.overread, "asked for more than the message had");
        whole
    }

    fn failure(c: &Conversation) -> (SocksFailure, String) {
        let e = c.outcome.clone().unwrap_err();
        (e.failure.clone(), e.to_string())
    }

    #[test]
    fn socks5h_no_auth_sends_the_name_and_reads_an_ipv4_bound_address() {
        let reply = [&[5, 0][..], &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]].concat();
        let c = every_cut(SocksVersion::V5h, name("example.com", 443), None, &reply);
        assert_eq!(
            c.sent,
            vec![
                vec![5, 1, 0],
                [&[5, 1, 0, 3, 11][..], b"example.com", &[1, 187]].concat()
            ]
        );
        assert_eq!(c.outcome, Ok(Bound::Addr("10.0.0.1:8080".parse().unwrap())));
        assert_eq!(c.used, reply.len());
    }

    #[test]
    fn socks5_sends_the_resolved_address_v4_or_v6() {
        let reply = [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let c = every_cut(SocksVersion::V5, v4("127.0.0.1:80"), None, &reply);
        assert_eq!(c.sent[1], vec![5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
        let c = every_cut(SocksVersion::V5, v4("[::1]:81"), None, &reply);
        let mut want = vec![5, 1, 0, 4];
        want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want.extend_from_slice(&[0, 81]);
        assert_eq!(c.sent[1], want);
    }

    #[test]
    fn socks5_reads_ipv6_and_name_bound_addresses() {
        let mut reply = vec![5, 0, 5, 0, 0, 4];
        reply.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        reply.extend_from_slice(&[0, 1]);
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &reply);
        assert_eq!(c.outcome, Ok(Bound::Addr("[::1]:1".parse().unwrap())));
        let reply = [&[5, 0, 5, 0, 0, 3, 4][..], b"host", &[0, 2]].concat();
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &reply);
        assert_eq!(c.outcome, Ok(Bound::Name("host".into(), 2)));
        assert_eq!(c.outcome.unwrap().to_string(), "host:2");
    }

    #[test]
    fn socks5_authenticates_with_rfc_1929_when_given_credentials() {
        let reply = [5, 2, 1, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
        let c = every_cut(
            SocksVersion::V5h,
            name("example.com", 443),
            creds("al", "pw!"),
            &reply,
        );
        assert_eq!(c.sent[0], vec![5, 2, 0, 2]);
        assert_eq!(c.sent[1], [&[1, 2][..], b"al", &[3], b"pw!"].concat());
        assert_eq!(c.sent[2][..4], [5, 1, 0, 3]);
        assert!(c.outcome.is_ok());
        // The status's version byte 5, as some proxies send it, is taken.
        let reply = [5, 2, 5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
        let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &reply);
        assert!(c.outcome.is_ok());
        // With credentials, a proxy that wants none skips the sub-negotiation.
        let reply = [5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
        let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &reply);
        assert_eq!(c.sent.len(), 2);
        assert!(c.outcome.is_ok());
    }

    #[test]
    fn socks5_auth_failures() {
        let c = every_cut(
            SocksVersion::V5h,
            name("h", 1),
            creds("a", "b"),
            &[5, 2, 1, 1],
        );
        assert_eq!(
            failure(&c),
            (
                SocksFailure::AuthRejected(1),
                "SOCKS5 connect to example.com:443 failed: authentication failed: \
                 user name and password rejected (status 1)"
                    .into()
            )
        );
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0xff]);
        assert_eq!(
            failure(&c).1,
            "SOCKS5 connect to example.com:443 failed: the proxy requires \
             authentication (give a user in the proxy URL or -U)"
        );
        let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &[5, 0xff]);
        assert_eq!(
            failure(&c).0,
            SocksFailure::NoAcceptableMethod { offered_auth: true }
        );
        // Username/password not offered, or GSSAPI: methods rawget did not offer.
        for (m, cr) in [(2, None), (1, creds("a", "b")), (0x80, None)] {
            let c = every_cut(SocksVersion::V5h, name("h", 1), cr, &[5, m]);
            assert_eq!(failure(&c).0, SocksFailure::UnofferedMethod(m));
        }
        let c = every_cut(
            SocksVersion::V5h,
            name("h", 1),
            creds("a", "b"),
            &[5, 2, 7, 0],
        );
        assert_eq!(
            failure(&c).0,
            SocksFailure::BadVersion {
                what: "authentication reply",
                want: 1,
                got: 7
            }
        );
    }

    #[test]
    fn every_socks5_reply_code_says_its_meaning() {
        let meanings = [
            (1, "general SOCKS server failure"),
            (2, "connection not allowed by ruleset"),
            (3, "network unreachable"),
            (4, "host unreachable"),
            (5, "connection refused by destination host"),
            (6, "TTL expired"),
            (7, "command not supported"),
            (8, "address type not supported"),
            (9, "unknown SOCKS5 reply code"),
            (255, "unknown SOCKS5 reply code"),
        ];
        for (code, meaning) in meanings {
            // Decided on REP: the rest of the reply need not come.
            let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0, 5, code]);
            assert_eq!(
                failure(&c),
                (
                    SocksFailure::Refused5(code),
                    format!("SOCKS5 connect to example.com:443 failed: {meaning} (reply {code})")
                )
            );
        }
    }

    #[test]
    fn socks5_reply_fields_are_checked() {
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[4, 0]);
        assert_eq!(
            failure(&c).1,
            "SOCKS5 connect to example.com:443 failed: not a SOCKS reply: \
             the SOCKS5 method selection has version 4, not 5"
        );
        // An HTTP proxy's answer fails on its first byte.
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, b"HTTP/1.1 400 Bad");
        assert_eq!(c.used, 0);
        assert!(matches!(
            failure(&c).0,
            SocksFailure::BadVersion { got: b'H', .. }
        ));
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0, 0, 0]);
        assert!(matches!(
            failure(&c).0,
            SocksFailure::BadVersion { got: 0, .. }
        ));
        for atyp in [0, 2, 5, 255] {
            let c = every_cut(
                SocksVersion::V5h,
                name("h", 1),
                None,
                &[5, 0, 5, 0, 0, atyp],
            );
            assert_eq!(failure(&c).0, SocksFailure::BadAddressType(atyp));
        }
    }

    #[test]
    fn a_close_anywhere_in_a_socks5_handshake_names_the_step() {
        let full = [5, 2, 1, 0, 5, 0, 0, 3, 2, b'h', b'i', 0, 1];
        let steps = [
            (0, "SOCKS5 method negotiation", 0),
            (1, "SOCKS5 method negotiation", 1),
            (2, "SOCKS5 authentication", 0),
            (3, "SOCKS5 authentication", 1),
            (4, "SOCKS5 connect reply", 0),
            (8, "SOCKS5 connect reply", 4),
            (12, "SOCKS5 connect reply", 8),
        ];
        for (len, what, got) in steps {
            let c = every_cut(
                SocksVersion::V5h,
                name("h", 1),
                creds("a", "b"),
                &full[..len],
            );
            assert_eq!(failure(&c).0, SocksFailure::Closed { what, got }, "{len}");
        }
        let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &full);
        assert_eq!(c.outcome, Ok(Bound::Name("hi".into(), 1)));
    }

    #[test]
    fn socks5_refuses_what_it_cannot_carry() {
        let long = "a".repeat(256);
        let e =
            SocksClient::new(SocksVersion::V5h, name(&long, 1), "x:1".into(), None).unwrap_err();
        assert_eq!(e.failure, SocksFailure::NameTooLong(256));
        let ok = "a".repeat(255);
        let (_, first) =
            SocksClient::new(SocksVersion::V5h, name(&ok, 1), "x:1".into(), None).unwrap();
        assert_eq!(first, vec![5, 1, 0]);
        let e = SocksClient::new(
            SocksVersion::V5,
            v4("1.2.3.4:5"),
            "x:1".into(),
            creds(&long, "p"),
        )
        .unwrap_err();
        assert_eq!(e.failure, SocksFailure::CredentialTooLong);
    }

    #[test]
    fn socks4_sends_an_ipv4_address_and_the_user_id() {
        let reply = [0, 90, 0, 0, 0, 0, 0, 0];
        let c = every_cut(
            SocksVersion::V4,
            v4("127.0.0.1:8080"),
            creds("bob", "unused"),
            &reply,
        );
        assert_eq!(
            c.sent,
            vec![vec![4, 1, 0x1f, 0x90, 127, 0, 0, 1, b'b', b'o', b'b', 0]]
        );
        assert_eq!(c.outcome, Ok(Bound::Addr("0.0.0.0:0".parse().unwrap())));
        let e = SocksClient::new(SocksVersion::V4, v4("[::1]:1"), "h:1".into(), None).unwrap_err();
        assert_eq!(e.failure, SocksFailure::NoIpv4);
        assert!(e.to_string().starts_with(
            "SOCKS4 connect to h:1 failed: the host has no IPv4 address, and SOCKS4 carries only IPv4"
        ));
    }

    #[test]
    fn socks4a_sends_the_name_after_0_0_0_1() {
        let reply = [0, 90, 0, 80, 10, 1, 2, 3];
        let c = every_cut(SocksVersion::V4a, name("example.com", 443), None, &reply);
        assert_eq!(
            c.sent[0],
            [&[4, 1, 1, 187, 0, 0, 0, 1, 0][..], b"example.com\0"].concat()
        );
        assert_eq!(c.outcome, Ok(Bound::Addr("10.1.2.3:80".parse().unwrap())));
    }

    #[test]
    fn socks4_replies_are_checked() {
        for (code, meaning) in [
            (91, "request rejected or failed"),
            (
                92,
                "request rejected: the proxy cannot reach identd on the client",
            ),
            (93, "request rejected: identd reports a different user id"),
            (0, "unknown SOCKS4 reply code"),
            (200, "unknown SOCKS4 reply code"),
        ] {
            let c = every_cut(SocksVersion::V4a, name("h", 1), None, &[0, code, 0, 0]);
            assert_eq!(
                failure(&c).1,
                format!("SOCKS4a connect to example.com:443 failed: {meaning} (reply {code})")
            );
        }
        let c = every_cut(
            SocksVersion::V4,
            v4("1.2.3.4:5"),
            None,
            &[4, 90, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(
            failure(&c).0,
            SocksFailure::BadVersion {
                what: "SOCKS4 reply",
                want: 0,
                got: 4
            }
        );
        let c = every_cut(SocksVersion::V4, v4("1.2.3.4:5"), None, &[0, 90, 0]);
        assert_eq!(
            failure(&c).0,
            SocksFailure::Closed {
                what: "SOCKS4 reply",
                got: 3
            }
        );
    }

    #[test]
    fn feeding_after_the_end_is_an_error_not_a_panic() {
        let (mut c, _) = client(SocksVersion::V4, v4("1.2.3.4:5"), None);
        let fed = c.feed(&[0, 90, 0, 0, 0, 0, 0, 0, 1, 2]).unwrap();
        assert_eq!(fed.consumed, 8);
        assert_eq!(c.feed(&[1, 2]).unwrap_err().failure, SocksFailure::Ended);
    }

    #[test]
    fn notes_say_the_method_and_the_auth() {
        let (mut c, _) = client(SocksVersion::V5h, name("h", 1), creds("a", "b"));
        let fed = c.feed(&[5, 2]).unwrap();
        assert_eq!(
            fed.note.unwrap().to_string(),
            "SOCKS5 method: username/password (RFC 1929)"
        );
        let fed = c.feed(&[1, 0]).unwrap();
        assert_eq!(fed.note, Some(Note::AuthOk));
    }
}
