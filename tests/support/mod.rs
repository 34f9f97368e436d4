//! The one harness for the integration tests: run the built binary
//! ([`run`]), the fixtures and what rawget is expected to send
//! ([`fixtures`]), raw sockets with timeouts ([`net`]), the one test server
//! (rawget's replay server, plain or TLS, checked on drop: [`server`]), and
//! rawget's listening subcommands run as child processes ([`daemon`]), real
//! servers (nginx, haproxy) on loopback ([`real`]), a scripted SOCKS
//! proxy ([`socks_server`]), and
//! what a test needs of the machine ([`env`]: no silent skips).
//!
//! Every wait is bounded: a hang fails a test instead of hanging the suite.
#![allow(dead_code)] // each suite uses a part

pub mod daemon;
pub mod echo_peers;
pub mod env;
pub mod fixtures;
pub mod net;
pub mod reach;
pub mod real;
pub mod run;
pub mod server;
pub mod socks_server;

pub use daemon::*;
pub use echo_peers::*;
pub use env::*;
pub use fixtures::*;
pub use net::*;
pub use reach::*;
pub use real::*;
pub use run::*;
pub use server::*;
pub use socks_server::*;
