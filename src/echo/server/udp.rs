//! The UDP echo server (`echo-server --udp`): every datagram goes back to
//! its sender whole, from one socket, on one task.
//!
//! Owns the socket, the receive-and-echo loop, the table of peers seen (for
//! the -v log and the summary) and the UDP counters.
//!
//! A datagram is read whole into one 64 KiB buffer (more than the largest
//! UDP payload, 65,507 bytes over IPv4, 65,527 over IPv6) and sent back as
//! one datagram, so nothing is ever split or merged. Nothing is allocated
//! per datagram: memory stays flat whatever the rate; the peer table is the
//! only thing that grows, and it stops at [`MAX_PEERS`].

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::{listen_error, say, Signals};
use crate::cli::EchoServerArgs;

/// The receive buffer: any UDP payload fits.
const DATAGRAM_BUF: usize = 64 * 1024;

/// Datagrams handled per wake-up before the loop looks at the signals
/// again: a flood cannot delay the shutdown by more than this many echoes.
const BATCH: usize = 256;

/// Most peers remembered. Every UDP source address is a peer, and sources
/// are easy to forge, so the table must stop somewhere: 65,536 entries are
/// a few MiB. Beyond it new peers are still echoed, just not logged.
const MAX_PEERS: usize = 65_536;

/// The UDP counters, for the summary.
#[derive(Debug, Default)]
struct Stats {
    datagrams: u64,
    bytes: u64,
    /// Datagrams that could not be sent back (other than "try again").
    unsent: u64,
}

/// The peers seen so far, and the -v line for each new one.
struct Peers {
    seen: HashSet<SocketAddr>,
    full: bool,
    verbose: bool,
}

impl Peers {
    /// Notes a datagram of `len` bytes from `peer`; logs a first one.
    fn saw(&mut self, peer: SocketAddr, len: usize) {
        if self.seen.contains(&peer) || self.full {
            return;
        }
        if self.seen.len() >= MAX_PEERS {
            self.full = true;
            if self.verbose {
                vlog!(
                    "peer table full ({MAX_PEERS} peers): later new peers are echoed, not logged"
                );
            }
            return;
        }
        self.seen.insert(peer);
        if self.verbose {
            vlog!(
                "peer {peer}: first datagram, {len} bytes ({} peers)",
                self.seen.len()
            );
        }
    }

    /// The count for the summary: `65536+` once the table is full.
    fn count(&self) -> String {
        match self.full {
            true => format!("{}+", self.seen.len()),
            false => self.seen.len().to_string(),
        }
    }
}

/// Runs the UDP server until SIGINT or SIGTERM, then prints the summary.
pub(super) fn run(args: &EchoServerArgs) -> crate::Result<()> {
    let addrs = crate::echo::resolve(&args.listen)?;
    let rt = super::runtime()?;
    let mut stats = Stats::default();
    let mut peers = Peers {
        seen: HashSet::new(),
        full: false,
        verbose: args.verbose,
    };
    let signal = rt.block_on(serve(&args.listen, &addrs, &mut stats, &mut peers))?;
    drop(rt);
    let unsent = match stats.unsent {
        0 => String::new(),
        n => format!(", {n} not sent back"),
    };
    say(format_args!(
        "{signal}: {} datagrams echoed, {} bytes echoed, {} peers{unsent}",
        stats.datagrams,
        stats.bytes,
        peers.count()
    ))
}

/// Binds, prints the listening line, echoes until a signal arrives.
async fn serve(
    listen: &str,
    addrs: &[SocketAddr],
    stats: &mut Stats,
    peers: &mut Peers,
) -> crate::Result<&'static str> {
    let mut last = None;
    let mut socket = None;
    for &addr in addrs {
        match UdpSocket::bind(addr).await {
            Ok(s) => {
                socket = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(socket) = socket else {
        return Err(listen_error(listen, last));
    };
    let local = socket
        .local_addr()
        .map_err(|e| listen_error(listen, Some(e)))?;
    let mut signals = Signals::hook()?;
    say(format_args!("listening on {local}"))?;

    let mut buf = vec![0u8; DATAGRAM_BUF];
    // Whether the last receive failed (one -v line per burst of failures).
    let mut failing = false;
    loop {
        tokio::select! {
            biased;
            name = signals.recv() => return Ok(name),
            ready = socket.readable() => {
                if let Err(e) = ready {
                    return Err(listen_error(local, Some(e)));
                }
                echo_batch(&socket, &mut buf, stats, peers, &mut failing).await;
            }
        }
    }
}

/// Echoes what is queued on the socket, up to [`BATCH`] datagrams: one
/// `recvfrom` and one `sendto` each, no `epoll_wait` between them while
/// datagrams keep coming.
async fn echo_batch(
    socket: &UdpSocket,
    buf: &mut [u8],
    stats: &mut Stats,
    peers: &mut Peers,
    failing: &mut bool,
) {
    for _ in 0..BATCH {
        let (n, peer) = match socket.try_recv_from(buf) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // Say, with -v, that receiving fails (once per burst); the
                // datagram it concerned is gone either way.
                if peers.verbose && !*failing {
                    vlog!("receive: {}; continuing", crate::echo::clean_ref(&e));
                }
                *failing = true;
                return;
            }
        };
        *failing = false;
        peers.saw(peer, n);
        let data = &buf[..n];
        let sent = match socket.try_send_to(data, peer) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.send_to(data, peer).await,
            other => other,
        };
        match sent {
            Ok(_) => {
                stats.datagrams += 1;
                stats.bytes += n as u64;
            }
            Err(e) => {
                if peers.verbose && stats.unsent == 0 {
                    vlog!(
                        "send to {peer}: {}; counting such failures in the summary",
                        crate::echo::clean_ref(&e)
                    );
                }
                stats.unsent += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_table_stops_growing_and_says_so() {
        let mut peers = Peers {
            seen: HashSet::new(),
            full: false,
            verbose: false,
        };
        for port in 0..(MAX_PEERS as u32 + 10) {
            let addr = SocketAddr::from(([127, 0, 0, 1], (port % 65_536) as u16));
            let addr = match port >= 65_536 {
                true => SocketAddr::from(([127, 0, 0, 2], (port % 65_536) as u16)),
                false => addr,
            };
            peers.saw(addr, 1);
        }
        assert_eq!(peers.seen.len(), MAX_PEERS);
        assert_eq!(peers.count(), format!("{MAX_PEERS}+"));
    }
}
