//! The replay server: serves saved raw HTTP responses byte for byte.
//!
//! This folder owns [`Server`], a small synchronous server (std sockets, one
//! thread per client) that the integration tests use to put exact bytes on
//! the wire, with the misbehaviour a real server can show: responses split
//! into pieces and delays, cut short, ended by a reset, or left hanging;
//! over plain TCP or over TLS ([`Plan::tls`], native-tls's acceptor), where
//! it also records each client's SNI and handshake and can end without
//! close_notify. It also owns `rawget replay`, which runs the same server
//! from the command line for a file such as one written by `rawget
//! --save-raw`, with `--cert` and `--key` for TLS.
//!
//! It is synchronous on purpose: a test server must be predictable, and one
//! thread per client keeps the order of writes, sleeps and closes exactly as
//! the [`Plan`] says.
//!
//! - `mod.rs`: `rawget replay` (arguments to a plan, the listening line) and
//!   the re-exports.
//! - `plan.rs`: [`Plan`], [`End`] and which plan each client gets.
//! - `server.rs`: [`Server`], its accept thread and the state shared with
//!   the client threads.
//! - `conn.rs`: one client's connection, from handshake to the end.
//! - `tls.rs`: [`Identity`], the TLS handshake and the SNI in the hello.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod conn;
mod plan;
mod server;
mod tls;

pub use plan::{End, Plan};
pub use server::Server;
pub use tls::Identity;

use crate::cli::ReplayArgs;
use crate::error::{Error, ErrorKind};
use plan::Plans;

/// `rawget replay FILE`: serves FILE's bytes to each client until killed, or
/// until `--count` clients were served.
pub fn run(args: &ReplayArgs) -> crate::Result<()> {
    if args.piece == Some(0) {
        return Err(Error::new(ErrorKind::Usage, "--piece must be at least 1"));
    }
    let response = read_input(&args.file)?;
    let mut plan = Plan::new(response)
        .delay(Duration::from_millis(args.delay))
        .read_request(!args.no_read)
        .end(if args.reset {
            End::Reset
        } else if args.hang {
            End::Hang
        } else if args.no_close_notify {
            End::CloseWithoutNotify
        } else {
            End::Close
        });
    plan.piece = args.piece;
    plan.cut = args.cut;
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        plan = plan.tls(load_identity(cert, key)?);
    }

    // A bad address is a usage error; a good one that cannot be bound is a
    // connect-class failure (in use, not ours).
    if std::net::ToSocketAddrs::to_socket_addrs(args.listen.as_str()).is_err() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--listen {}: not an address:port", args.listen),
        ));
    }
    let server = Server::spawn(
        &args.listen,
        Plans::Same(Arc::new(plan)),
        args.count,
        args.verbose,
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("cannot listen on {}", args.listen),
        )
        .with_source(e)
    })?;

    // Scripts and tests wait for this line to learn the port, so it goes out
    // at once rather than when the buffer fills.
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", server.addr())
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(ErrorKind::Write, "cannot write to stdout").with_source(e))?;
    drop(out);

    server.join();
    Ok(())
}

/// The identity in the PEM files `cert` and `key`, for `--cert` and
/// `--key`: a file that cannot be read, or that holds no usable certificate
/// and key, is a local input that cannot be used (exit 26, as for
/// `--cacert`).
fn load_identity(cert: &Path, key: &Path) -> crate::Result<Identity> {
    Identity::from_pem(&read_input(cert)?, &read_input(key)?).map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!(
                "cannot use {} and {} as a TLS certificate and key",
                cert.display(),
                key.display()
            ),
        )
        .with_source(e)
    })
}

/// The bytes of a file the user named (the response, `--cert`, `--key`):
/// one that cannot be read is a local input that cannot be used (exit 26).
fn read_input(path: &Path) -> crate::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!("cannot read {}", path.display()),
        )
        .with_source(e)
    })
}
