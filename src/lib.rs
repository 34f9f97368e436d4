//! rawget: HTTP exactly as it crosses the wire.
//!
//! The library behind the `rawget` binary, public so that `tests/`,
//! `benches/` and `fuzz/` reach the protocol code directly. The fetch path is
//! synchronous (std sockets, native-tls's blocking stream); only `echo` runs
//! on tokio.
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod echo;
pub mod error;
pub mod fetch;
pub mod observe;
pub mod options;
pub mod output;
pub mod replay;
pub mod request;
pub mod response;
pub mod send;
pub mod target;
pub mod transport;

pub use error::{Error, ErrorKind, Result};

use cli::{Cli, Command};

/// Runs the command the user typed.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::EchoServer(args)) => echo::server::run(&args)?,
        Some(Command::EchoClient(args)) => echo::client::run(&args)?,
        Some(Command::Replay(args)) => replay::run(&args)?,
        Some(Command::Send(args)) => send::run(&args)?,
        None => {
            let opts = options::Options::from_args(&cli.fetch, &mut std::io::stdin().lock())?;
            output::diag::set_verbose(opts.report.verbose);
            fetch::run(&opts)?
        }
    }
    Ok(())
}
