//! The server: the listener and its accept thread, one thread per client,
//! and the state they share with the [`Server`] handle (hits, recorded
//! requests, TLS handshakes and SNIs, the stop flag). What each client
//! thread does is `conn.rs`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::conn::serve;
use super::plan::{Plan, Plans};

/// State shared by the [`Server`] handle, the accept thread and the client threads.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Set by `Drop`: stop accepting and stop hanging.
    stop: AtomicBool,
    /// Clients accepted.
    hits: AtomicUsize,
    /// The requests recorded so far, in order of recording.
    requests: Mutex<Vec<Vec<u8>>>,
    /// Signalled whenever a request is recorded.
    pub(super) recorded: Condvar,
    /// Client threads not yet known to be finished, for [`Server::join`].
    clients: Mutex<Vec<JoinHandle<()>>>,
    /// TLS handshakes completed.
    pub(super) handshakes: AtomicUsize,
    /// The SNI of each TLS client's hello, in the order they came.
    snis: Mutex<Vec<Option<String>>>,
    /// The server's side of each TLS handshake that failed.
    handshake_failures: Mutex<Vec<String>>,
}

impl Shared {
    pub(super) fn requests(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        lock(&self.requests)
    }

    fn clients(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        lock(&self.clients)
    }

    pub(super) fn snis(&self) -> MutexGuard<'_, Vec<Option<String>>> {
        lock(&self.snis)
    }

    pub(super) fn handshake_failures(&self) -> MutexGuard<'_, Vec<String>> {
        lock(&self.handshake_failures)
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Locks one of [`Shared`]'s lists, poisoned or not: a client thread that
/// panicked while holding the lock left the list intact (every holder only
/// pushes, prunes or takes the whole list), so the data is still good.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running replay server. Dropping it stops accepting new clients;
/// clients already connected finish their plan (a hanging one stops hanging).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and serves `plan` to each
    /// client on its own thread, until `count` clients were accepted
    /// (`None`: until dropped).
    pub fn start(listen: &str, plan: Plan, count: Option<usize>) -> io::Result<Server> {
        Server::spawn(listen, Plans::Same(Arc::new(plan)), count, false)
    }

    /// Binds `listen` and serves `plans[i]` to the i-th client (counting from
    /// 0), then stops accepting: a redirect followed by its target, a failure
    /// followed by a success, with one client per connection.
    pub fn start_sequence(listen: &str, plans: Vec<Plan>) -> io::Result<Server> {
        let count = plans.len();
        let plans = Plans::Each(plans.into_iter().map(Arc::new).collect());
        Server::spawn(listen, plans, Some(count), false)
    }

    /// Binds `listen` and starts the accept thread; `log` (for `rawget
    /// replay -v`) writes a line per client to stderr.
    pub(super) fn spawn(
        listen: &str,
        plans: Plans,
        count: Option<usize>,
        log: bool,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("replay-accept-{}", addr.port()))
                .spawn(move || accept_loop(listener, plans, count, log, &shared))?
        };
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address the server listens on, with the port the kernel chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The exact request bytes received from each client so far, in the
    /// order they were recorded. A request is recorded before its response is
    /// sent; clients served with `read_request(false)` are not in the list.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.shared.requests().clone()
    }

    /// Waits until `n` requests are recorded or `timeout` passes, then
    /// returns what is recorded (possibly fewer than `n`).
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut requests = self.shared.requests();
        while requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            requests = self
                .shared
                .recorded
                .wait_timeout(requests, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        requests.clone()
    }

    /// How many clients were accepted.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The server name (SNI) in each TLS client's ClientHello, in the order
    /// they came; `None` when the client sent none (as it must not for an IP
    /// address, RFC 6066 section 3) or the hello could not be read.
    pub fn snis(&self) -> Vec<Option<String>> {
        self.shared.snis().clone()
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.shared.handshakes.load(Ordering::SeqCst)
    }

    /// The server's side of every TLS handshake that failed (the client
    /// refused the certificate, or spoke no TLS), as text.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.shared.handshake_failures().clone()
    }

    /// Waits until the server stopped accepting (after `count` clients) and
    /// every client was served. Without a `count` this waits forever, which
    /// is what `rawget replay` without `--count` wants.
    pub fn join(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        // The accept thread has ended, so no client thread is added any more.
        let clients = std::mem::take(&mut *self.shared.clients());
        for client in clients {
            let _ = client.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        hang_up_listener(self.addr, self.accept.take());
    }
}

/// Wakes the accept thread, blocked in `accept(2)`, by connecting to it; it
/// sees the stop flag and returns, closing the listener. If the wake-up
/// connection fails the thread is left to end at its next client rather than
/// blocking the caller.
fn hang_up_listener(addr: SocketAddr, accept: Option<JoinHandle<()>>) {
    let Some(accept) = accept else { return };
    if accept.is_finished() {
        let _ = accept.join();
        return;
    }
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let woke =
        TcpStream::connect_timeout(&SocketAddr::new(ip, addr.port()), Duration::from_secs(1));
    if woke.is_ok() || accept.is_finished() {
        let _ = accept.join();
    }
}

/// Accepts clients until `count` were accepted, the plans run out or the
/// server is dropped, and serves each on its own thread.
fn accept_loop(
    listener: TcpListener,
    plans: Plans,
    count: Option<usize>,
    log: bool,
    shared: &Arc<Shared>,
) {
    let mut accepted = 0usize;
    while count.is_none_or(|c| accepted < c) {
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(_) if shared.stopped() => return,
            Err(_) => {
                // EMFILE and friends: back off rather than spin, and retry.
                thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if shared.stopped() {
            return;
        }
        let Some(plan) = plans.get(accepted) else {
            return;
        };
        accepted += 1;
        let number = shared.hits.fetch_add(1, Ordering::SeqCst) + 1;
        let client_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("replay-client-{number}"))
            .spawn(move || {
                let report = serve(stream, &plan, &client_shared);
                if log {
                    // Through diag: a closed stderr must not kill the client thread.
                    crate::output::diag::line(format_args!("{}", report.line(number, peer)));
                }
            });
        let mut clients = shared.clients();
        clients.retain(|c| !c.is_finished());
        if let Ok(handle) = spawned {
            clients.push(handle);
        }
    }
}
