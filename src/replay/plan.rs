//! The plan: what the replay server does with each client ([`Plan`]), how
//! the connection ends ([`End`]), and which plan which client gets
//! ([`Plans`]). Pure data; the server and the connection read it.

use std::sync::Arc;
use std::time::Duration;

use super::Identity;

/// How a connection ends after the response (or the part of it that is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// An orderly close: FIN after the last byte (`shutdown(Write)`), then a
    /// short drain of what the client still sends, then close. Over TLS the
    /// close_notify alert goes first, as a clean TLS close.
    Close,
    /// Over TLS, the FIN (and the drain and close) without close_notify
    /// first: a truncation as an attacker or a careless server makes it,
    /// which a client must not take for the end of a close-delimited body
    /// (RFC 9112 section 9.8). Over plain TCP the same as [`End::Close`].
    CloseWithoutNotify,
    /// An abortive close: `SO_LINGER {on, 0}` then close, so the kernel sends
    /// RST and the client's next read fails with `ECONNRESET`.
    Reset,
    /// Keep the connection open, reading and discarding, until the client
    /// closes, [`Plan::hang_limit`] passes, or the [`Server`](super::Server) is dropped;
    /// then close (over TLS without close_notify: the hang is the point).
    Hang,
}

/// What the server does with each client: the bytes and how to send them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The bytes to send, verbatim.
    pub response: Vec<u8>,
    /// Write in pieces of this many bytes, each its own `write(2)` with
    /// `TCP_NODELAY` set; `None` (or 0) writes everything at once.
    pub piece: Option<usize>,
    /// Sleep before the first piece and between pieces.
    pub delay: Duration,
    /// Send only the first this many bytes of `response`.
    pub cut: Option<usize>,
    /// How the connection ends after sending.
    pub end: End,
    /// Read the request head (and a `Content-Length` body) before replying.
    /// When false the reply starts at once and nothing is recorded.
    pub read_request: bool,
    /// Upper bound for reading the request, for each blocked write (a
    /// client that stops reading), and for [`End::Hang`], so that no client
    /// thread lives forever. A request still incomplete at the limit is
    /// recorded as it is and answered anyway.
    pub hang_limit: Duration,
    /// Speak TLS with this identity: the handshake first (bounded by 5 s),
    /// then the request and the response inside it. `None`: plain TCP.
    pub tls: Option<Identity>,
}

impl Plan {
    /// Sends `response` in one write after reading the request, then closes:
    /// no pieces, no delay, no cut, [`End::Close`], a 30 s `hang_limit`.
    pub fn new(response: impl Into<Vec<u8>>) -> Plan {
        Plan {
            response: response.into(),
            piece: None,
            delay: Duration::ZERO,
            cut: None,
            end: End::Close,
            read_request: true,
            hang_limit: Duration::from_secs(30),
            tls: None,
        }
    }

    /// Writes in pieces of `n` bytes (0 means all at once).
    pub fn piece(mut self, n: usize) -> Self {
        self.piece = Some(n);
        self
    }

    /// Sleeps `d` before the first piece and between pieces.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Sends only the first `n` bytes of the response.
    pub fn cut(mut self, n: usize) -> Self {
        self.cut = Some(n);
        self
    }

    /// Ends the connection this way after sending.
    pub fn end(mut self, end: End) -> Self {
        self.end = end;
        self
    }

    /// Whether to read the request before replying.
    pub fn read_request(mut self, read: bool) -> Self {
        self.read_request = read;
        self
    }

    /// Bounds reading the request and [`End::Hang`] by `d`.
    pub fn hang_limit(mut self, d: Duration) -> Self {
        self.hang_limit = d;
        self
    }

    /// Serves over TLS with `identity`.
    pub fn tls(mut self, identity: Identity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The bytes actually sent: `response` shortened by `cut`.
    pub(super) fn bytes(&self) -> &[u8] {
        let n = self
            .cut
            .map_or(self.response.len(), |c| c.min(self.response.len()));
        &self.response[..n]
    }
}

/// Which plan each client gets.
#[derive(Debug)]
pub(super) enum Plans {
    /// Every client gets the same plan.
    Same(Arc<Plan>),
    /// Client number i (from 0) gets plan i.
    Each(Vec<Arc<Plan>>),
}

impl Plans {
    /// The plan for client number `i` (from 0); `None` once a sequence is
    /// used up.
    pub(super) fn get(&self, i: usize) -> Option<Arc<Plan>> {
        match self {
            Plans::Same(p) => Some(Arc::clone(p)),
            Plans::Each(v) => v.get(i).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_never_exceeds_the_response() {
        assert_eq!(Plan::new("abc").cut(2).bytes(), b"ab");
        assert_eq!(Plan::new("abc").cut(9).bytes(), b"abc");
    }
}
