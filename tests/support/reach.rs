//! What the reach tests (proxies, sockets, racing) need besides the test
//! server: a black-holed address on loopback, made without a firewall.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// A listening socket whose accept queue is full, so the kernel drops
/// every further SYN: a connect to it hangs as to a black-holed address.
/// Keep it alive for as long as the address must stay black.
pub struct BlackHole {
    pub addr: SocketAddr,
    _listener: Socket,
    _queued: Vec<TcpStream>,
}

/// A black hole on `ip` (`"::1"` or `"127.0.0.1"`), port chosen by the
/// kernel; `None` when the address cannot be bound here (no IPv6 loopback).
pub fn black_hole(ip: &str) -> Option<BlackHole> {
    let addr: SocketAddr = SocketAddr::new(ip.parse().ok()?, 0);
    let listener = Socket::new(Domain::for_address(addr), Type::STREAM, None).ok()?;
    listener.bind(&addr.into()).ok()?;
    // Backlog 0: Linux queues one connection, then drops SYNs.
    listener.listen(0).ok()?;
    let addr = listener.local_addr().ok()?.as_socket()?;
    let mut queued = Vec::new();
    // Fill the queue until a connect no longer completes (bounded).
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => queued.push(s),
            Err(_) => {
                return Some(BlackHole {
                    addr,
                    _listener: listener,
                    _queued: queued,
                })
            }
        }
    }
    panic!("{addr} kept accepting connections: no black hole can be made here");
}
