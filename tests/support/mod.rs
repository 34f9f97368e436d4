//! The one harness for the integration tests: run the built binary
//! ([`run`]), the fixtures and what rawget is expected to send
//! ([`fixtures`]), raw sockets with timeouts ([`net`]), the replay server as
//! a fixture ([`rawget::replay`]), and rawget's listening subcommands run as
//! child processes ([`daemon`]).
//!
//! Every wait is bounded: a hang fails a test instead of hanging the suite.
#![allow(dead_code)] // each suite uses a part

pub mod daemon;
pub mod fixtures;
pub mod net;
pub mod run;

pub use daemon::*;
pub use fixtures::*;
pub use net::*;
pub use run::*;

#[allow(unused_imports)]
pub use rawget::replay::{End, Identity, Plan, Server};

/// A server that replays `plan` to every client.
pub fn serve(plan: Plan) -> Server {
    Server::start("127.0.0.1:0", plan, None).expect("start replay server")
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

/// A server that replays fixture `name`.
pub fn serve_fixture(name: &str) -> Server {
    serve(Plan::new(fixture(name)))
}

/// `http://127.0.0.1:PORT/PATH` for a server.
pub fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr())
}

/// The requests a server recorded (waiting briefly for its thread).
pub fn requests(server: &Server, n: usize) -> Vec<String> {
    server
        .wait_requests(n, std::time::Duration::from_secs(5))
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}
