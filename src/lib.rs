//! rawget: HTTP exactly as it crosses the wire.
//!
//! The library behind the `rawget` binary, public so that `tests/`,
//! `benches/` and `fuzz/` reach the protocol code directly. The fetch path is
//! synchronous (std sockets, native-tls's blocking stream); only `echo` runs
//! on tokio.
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod config;
pub mod cookies;
pub mod credentials;
pub mod echo;
pub mod error;
pub mod fetch;
pub mod form;
pub mod generate;
pub mod inputs;
pub mod observe;
pub mod options;
pub mod output;
pub mod replay;
pub mod request;
pub mod response;
pub mod send;
pub mod target;
pub mod transport;
pub mod usage;

pub use error::{Error, ErrorKind, Result};

use cli::{Cli, Command};

/// Runs the command the user typed.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::EchoServer(args)) => echo::server::run(&args)?,
        Some(Command::EchoClient(args)) => echo::client::run(&args)?,
        Some(Command::Replay(args)) => replay::run(&args)?,
        Some(Command::Send(args)) => send::run(&args)?,
        None if cli.fetch.generate.is_some() => {
            if let Some(kind) = cli.fetch.generate {
                generate::run(kind)?
            }
        }
        None => fetch_all(&cli.fetch)?,
    }
    Ok(())
}

/// Fetches each URL in turn, each the same safe fetch with its own output.
/// The exit code is the last failure's; `--fail-early` stops at the first.
/// A failure that is not the last thing said is printed as it happens.
fn fetch_all(args: &cli::FetchArgs) -> Result<()> {
    let all = args.per_url();
    // `-d @-`: stdin is read once and sent with every URL.
    let mut stdin = Vec::new();
    if all.len() > 1 && args.data.iter().chain(&args.data_binary).any(|d| d == "@-") {
        use std::io::Read;
        std::io::stdin()
            .lock()
            .read_to_end(&mut stdin)
            .map_err(|e| Error::new(ErrorKind::ReadInput, "could not read stdin").with_source(e))?;
    }
    let mut failed: Option<Error> = None;
    let count = all.len();
    for (i, one) in all.iter().enumerate() {
        let result = if count > 1 {
            options::Options::from_args(one, &mut &stdin[..])
        } else {
            options::Options::from_args(one, &mut std::io::stdin().lock())
        }
        .and_then(|mut opts| {
            opts.output.append_captures = i > 0;
            output::diag::set_verbose(opts.report.verbose);
            fetch::run(&opts)
        });
        let Err(e) = result else { continue };
        let last = i + 1 == count || args.fail_early;
        if last {
            return Err(e);
        }
        if !e.is_quiet() {
            output::diag::line(format_args!("rawget: error: {}", error::one_line(&e)));
        }
        failed = Some(e);
    }
    match failed {
        // Already printed: only its exit code is left to give.
        Some(e) => Err(Error::quiet(e.kind())),
        None => Ok(()),
    }
}
