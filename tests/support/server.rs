//! The one test server: rawget's replay server ([`rawget::replay`], plain or
//! TLS as the [`Plan`] says) as a fixture that asserts, when it is dropped,
//! that it was used, as xh's `tests/server` does. A test whose server no
//! client reached tests nothing it claims; one that means it (`--dry-run`, a
//! bad URL, a local file that cannot be read) says so with
//! [`Server::expect_unused`] (which asserts no client came) or
//! [`Server::allow_unused`].

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use rawget::replay;
pub use rawget::replay::{End, Identity, Plan};

use super::fixtures::{fixture, tls_fixture};
use super::net::LIMIT;

/// How long a drop waits for a connection the accept thread has not
/// counted yet (the client may have finished before it was scheduled).
const LATE_ACCEPT: Duration = Duration::from_secs(1);

/// What the test expects of the server's use, checked on drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// At least one client connected.
    Used,
    /// No client connected.
    Unused,
    /// Either.
    Either,
}

/// A running replay server on loopback that checks on drop that it was hit.
#[derive(Debug)]
pub struct Server {
    /// `None` once joined.
    inner: Option<replay::Server>,
    scheme: &'static str,
    expect: Expect,
}

impl Server {
    /// Binds `listen` (port 0: a free port) and serves `plan` to every
    /// client, until `count` clients (`None`: until dropped).
    pub fn start(listen: &str, plan: Plan, count: Option<usize>) -> io::Result<Server> {
        let scheme = scheme(&plan);
        let inner = replay::Server::start(listen, plan, count)?;
        Ok(Server::new(inner, scheme))
    }

    /// Binds `listen` and serves `plans[i]` to the i-th client, then stops
    /// accepting.
    pub fn start_sequence(listen: &str, plans: Vec<Plan>) -> io::Result<Server> {
        let scheme = plans.first().map_or("http", scheme);
        let inner = replay::Server::start_sequence(listen, plans)?;
        Ok(Server::new(inner, scheme))
    }

    fn new(inner: replay::Server, scheme: &'static str) -> Server {
        Server {
            inner: Some(inner),
            scheme,
            expect: Expect::Used,
        }
    }

    /// The test means no client to come: the drop asserts none did.
    pub fn expect_unused(mut self) -> Server {
        self.expect = Expect::Unused;
        self
    }

    /// Whether a client comes or not is not the test's point.
    pub fn allow_unused(mut self) -> Server {
        self.expect = Expect::Either;
        self
    }

    fn inner(&self) -> &replay::Server {
        self.inner.as_ref().expect("the server was joined")
    }

    /// The replay server itself, for what only its own tests look at.
    pub fn replay(&self) -> &replay::Server {
        self.inner()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner().addr()
    }

    /// `http://ADDR/PATH`, or `https://` when the plan is TLS.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr())
    }

    /// How many clients were accepted.
    pub fn hits(&self) -> usize {
        self.inner().hits()
    }

    /// The requests recorded so far, byte for byte.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.inner().requests()
    }

    /// The requests once `n` are recorded (waiting up to [`LIMIT`]), as
    /// text; fewer when fewer came.
    pub fn wait_requests(&self, n: usize) -> Vec<String> {
        self.inner()
            .wait_requests(n, LIMIT)
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    /// The SNI of each TLS client, in order (`None`: none sent).
    pub fn snis(&self) -> Vec<Option<String>> {
        self.inner().snis()
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.inner().handshakes()
    }

    /// The server's side of each TLS handshake that failed.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.inner().handshake_failures()
    }

    /// Waits until the server has served its `count` clients (and so was
    /// used as planned: nothing is left to check on drop).
    pub fn join(mut self) {
        if let Some(inner) = self.inner.take() {
            inner.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        // The test already failed: its own message is the one to see, and a
        // second panic while unwinding would abort the whole binary.
        if thread::panicking() {
            return;
        }
        let mut hits = inner.hits();
        let deadline = Instant::now() + LATE_ACCEPT;
        while hits == 0 && self.expect == Expect::Used && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
            hits = inner.hits();
        }
        let addr = inner.addr().to_string();
        drop(inner);
        check(self.expect, hits, addr);
    }
}

fn check(expect: Expect, hits: usize, addr: String) {
    match expect {
        Expect::Used => assert!(
            hits > 0,
            "the test server on {addr} was never connected to: the test did not \
             test what it claims (say .expect_unused() if it means that)"
        ),
        Expect::Unused => assert_eq!(
            hits, 0,
            "the test server on {addr} expected no connection and had {hits}"
        ),
        Expect::Either => {}
    }
}

fn scheme(plan: &Plan) -> &'static str {
    if plan.tls.is_some() {
        "https"
    } else {
        "http"
    }
}

/// A server on 127.0.0.1 that replays `plan` to every client.
pub fn serve(plan: Plan) -> Server {
    Server::start("127.0.0.1:0", plan, None).expect("start the test server")
}

/// A server that replays fixture `name`.
pub fn serve_fixture(name: &str) -> Server {
    serve(Plan::new(fixture(name)))
}

/// A server that serves `plans[i]` to the i-th client on 127.0.0.1.
pub fn serve_sequence(plans: Vec<Plan>) -> Server {
    Server::start_sequence("127.0.0.1:0", plans).expect("start the test server")
}

/// A server that replays `plan` over TLS as `fixtures/tls/NAME.pem`.
pub fn serve_tls(name: &str, plan: Plan) -> Server {
    serve(plan.tls(identity(name)))
}

/// The certificate `fixtures/tls/NAME.pem` and its key `NAME.key`.
pub fn identity(name: &str) -> Identity {
    let read = |file: String| std::fs::read(tls_fixture(&file)).expect("TLS fixture");
    Identity::from_pem(&read(format!("{name}.pem")), &read(format!("{name}.key")))
        .expect("a usable certificate and key")
}

// The harness's own promises: a test that cannot fail is a defect.

#[test]
#[should_panic(expected = "was never connected to")]
fn a_server_no_client_reached_fails_the_test() {
    let _server = serve_fixture("ok.http");
}

#[test]
#[should_panic(expected = "expected no connection and had 1")]
fn an_unused_server_that_a_client_reached_fails_the_test() {
    let server = serve_fixture("ok.http").expect_unused();
    super::net::exchange(server.addr(), b"GET / HTTP/1.1\r\n\r\n");
}

#[test]
#[should_panic(expected = "the test's own failure")]
fn a_failing_test_keeps_its_message_and_does_not_panic_twice() {
    let _server = serve_fixture("ok.http");
    panic!("the test's own failure");
}
