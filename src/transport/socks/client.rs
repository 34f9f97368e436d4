//! [`SocksClient`]: the SOCKS4, 4a and 5 messages made, and every field of
//! every reply read, on the shortest prefix that settles it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{
    Bound, Dest, Fed, Note, SocksError, SocksFailure, SocksVersion, Step, MAX_CREDENTIAL, MAX_NAME,
};

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
