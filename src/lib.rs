//! rawget: HTTP exactly as it crosses the wire.
//!
//! The library behind the `rawget` binary, public so that `tests/`,
//! `benches/` and `fuzz/` reach the protocol code directly. The fetch path is
//! synchronous (std sockets, native-tls's blocking stream); only `echo` runs
//! on tokio.
#![deny(missing_docs)]

pub mod cli;
pub mod echo;
pub mod error;
pub mod replay;

pub use error::{Error, ErrorKind, Result};

use cli::{Cli, Command};

/// Runs the command the user typed.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::EchoServer(args)) => echo::server::run(&args)?,
        Some(Command::EchoClient(args)) => echo::client::run(&args)?,
        Some(Command::Replay(args)) => replay::run(&args)?,
        None => anyhow::bail!(Error::new(ErrorKind::Usage, "fetch is not built yet")),
    }
    Ok(())
}
