//! A whole SOCKS handshake played against given bytes, in pieces of the
//! caller's choosing: how the unit tests and the fuzz target drive
//! [`SocksClient`], as the fetch does through a socket.

use super::{Bound, SocksClient, SocksError, Step};

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
