//! A SOCKS proxy of the tests' own, for what real proxies will not do on
//! request: any reply code, a garbage reply, a wrong version byte, a close
//! or a reset mid-handshake, a stall; and, for SOCKS4a (which dante does
//! not speak), a relay to a real server after a scripted handshake.
//!
//! It plays a script ([`Act`]) to every client, one after the other, and
//! records every byte the clients sent during the script. Every wait is
//! bounded; on drop it stops and asserts that a client came (or, after
//! [`SocksServer::expect_unused`], that none did), as the test server does.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::net::{IO_TIMEOUT, LIMIT};

/// One step of the proxy's side of a handshake.
#[derive(Debug, Clone)]
pub enum Act {
    /// Read exactly this many bytes from the client (recorded).
    Recv(usize),
    /// Read up to and including the next NUL byte (SOCKS4's user id and
    /// SOCKS4a's host name), recorded.
    RecvToNul,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Send nothing and read nothing for this long (or until dropped).
    Stall(Duration),
    /// Close the connection (FIN).
    Close,
    /// Reset the connection (RST: SO_LINGER 0, then close).
    Reset,
    /// Relay both ways to this address until either side closes.
    Relay(SocketAddr),
}

/// The SOCKS proxy on 127.0.0.1; stopped on drop.
pub struct SocksServer {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    unused: bool,
}

impl SocksServer {
    /// Plays `script` to every client, one at a time.
    pub fn start(script: Vec<Act>) -> SocksServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SOCKS server");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("its address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, hits, stop) = (received.clone(), hits.clone(), stop.clone());
            thread::spawn(move || {
                let deadline = Instant::now() + LIMIT;
                while Instant::now() < deadline {
                    // Read before the accept: a client that came and went
                    // before the drop is still counted.
                    let stopping = stop.load(Ordering::SeqCst);
                    match listener.accept() {
                        Ok((conn, _)) => {
                            hits.fetch_add(1, Ordering::SeqCst);
                            play(conn, &script, &received, &stop);
                        }
                        Err(_) if stopping => break,
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        SocksServer {
            addr,
            received,
            hits,
            stop,
            thread: Some(thread),
            unused: false,
        }
    }

    /// The test means no client to come: the drop asserts none did.
    pub fn expect_unused(mut self) -> SocksServer {
        self.unused = true;
        self
    }

    /// Every byte the clients sent during the script, in order.
    pub fn received(&self) -> Vec<u8> {
        self.received.lock().expect("the record").clone()
    }

    /// How many clients came.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `SCHEME://ADDR`, for `-x`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

impl Drop for SocksServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if thread::panicking() {
            return;
        }
        let hits = self.hits();
        if self.unused {
            assert_eq!(hits, 0, "the SOCKS server was meant to be unused");
        } else {
            assert!(hits > 0, "no client reached the SOCKS server");
        }
    }
}

/// Plays `script` on `conn`; stops at the first failed step (the client
/// went away: what it sent is recorded, and the test judges).
fn play(mut conn: TcpStream, script: &[Act], received: &Mutex<Vec<u8>>, stop: &AtomicBool) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(IO_TIMEOUT));
    let _ = conn.set_write_timeout(Some(IO_TIMEOUT));
    let record = |bytes: &[u8]| {
        received
            .lock()
            .expect("the record")
            .extend_from_slice(bytes)
    };
    for act in script {
        match act {
            Act::Recv(n) => {
                let mut buf = vec![0; *n];
                if conn.read_exact(&mut buf).is_err() {
                    return;
                }
                record(&buf);
            }
            Act::RecvToNul => {
                let mut byte = [0u8];
                // A name is at most 255 bytes; a user id no longer here.
                for _ in 0..1024 {
                    if conn.read_exact(&mut byte).is_err() {
                        return;
                    }
                    record(&byte);
                    if byte[0] == 0 {
                        break;
                    }
                }
            }
            Act::Send(bytes) => {
                if conn.write_all(bytes).is_err() {
                    return;
                }
            }
            Act::Stall(d) => {
                let until = Instant::now() + *d;
                while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10));
                }
            }
            Act::Close => {
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Act::Reset => {
                let _ = socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO));
                return;
            }
            Act::Relay(to) => {
                relay(conn, *to);
                return;
            }
        }
    }
}

/// Copies both ways between `conn` and `to` until either side closes or
/// [`IO_TIMEOUT`] passes without a byte.
fn relay(conn: TcpStream, to: SocketAddr) {
    let Ok(origin) = TcpStream::connect_timeout(&to, IO_TIMEOUT) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut into: TcpStream| {
        let _ = from.set_read_timeout(Some(IO_TIMEOUT));
        let _ = std::io::copy(&mut from, &mut into);
        let _ = into.shutdown(Shutdown::Write);
    };
    let (Ok(c2), Ok(o2)) = (conn.try_clone(), origin.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || pipe(c2, o2));
    pipe(origin, conn);
    let _ = up.join();
}
