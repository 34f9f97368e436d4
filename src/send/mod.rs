//! `rawget send URL [FILE]...`: hand-built requests, sent byte for byte on
//! one connection, and every response read back as HTTP.
//!
//! - `mod.rs`: the command: the plan from the flags ([`Plan`]), the bytes
//!   to send, the analysis before sending, and the outcome.
//! - `framing.rs`: how many requests the bytes hold and where each ends
//!   (RFC 9112 §6 for requests, sans-I/O), every ambiguity named.
//! - `input.rs`: the FILEs or stdin read in bounded pieces and framed a
//!   request at a time just ahead of the writes: memory stays flat
//!   whatever the count.
//! - `exchange.rs`: the driver: connect, write (keep-alive, in pieces),
//!   linger for stray bytes, the verdict.
//! - `pipeline.rs`: `--pipeline`, written while the responses are read,
//!   one non-blocking loop for TCP and TLS alike.
//! - `response.rs`: one response read step by step with the fetch's own
//!   [`Reader`](crate::response::reader::Reader) on the fetch's own
//!   [`Conn`](crate::fetch::conn::Conn), for both.
//! - `report.rs`: what the user is told: `--explain`, the verdict (and the
//!   desync it may find), the `--report` report.
//! - `spool.rs`: the report's per-request and per-response arrays, on
//!   disk as they grow, copied into the report when it is written.

pub mod framing;

mod exchange;
mod input;
mod pipeline;
mod report;
mod response;
mod spool;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::SendArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::options::connect_options;
use crate::output::{diag, StdStream};
use crate::target::Target;
use crate::transport::ConnectOptions;
use input::{Inputs, Outgoing};

/// Everything `rawget send` needs, checked: the plan.
#[derive(Debug)]
pub struct Plan {
    /// Where to connect.
    pub target: Target,
    /// How to connect (through an HTTP proxy: always a CONNECT tunnel).
    pub connect: ConnectOptions,
    /// The `User-Agent` of a CONNECT request to a proxy.
    pub user_agent: String,
    /// The FILEs to send, one after another (stdin for none, or `-`).
    pub files: Vec<PathBuf>,
    /// `--crlf`.
    pub crlf: bool,
    /// `--pipeline`.
    pub pipeline: bool,
    /// `--split N`.
    pub split: Option<usize>,
    /// `--delay MS`.
    pub delay: Duration,
    /// `--wait MS`: how long to wait for stray bytes after the last response.
    pub wait: Duration,
    /// `--explain`.
    pub explain: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--report FILE`.
    pub report_file: Option<PathBuf>,
    /// `--output-dir DIR`.
    pub output_dir: Option<PathBuf>,
    /// `--save-raw FILE`.
    pub save_raw: Option<PathBuf>,
    /// `-s`.
    pub silent: bool,
    /// `-v`.
    pub verbose: bool,
}

impl Plan {
    /// Checks `args`.
    pub fn from_args(args: &SendArgs) -> Result<Plan> {
        let target = Target::parse(&args.url)?;
        let mut connect = connect_options(&args.net)?;
        // The bytes are the user's own, sent as they are: a proxy is only
        // ever a tunnel (absolute form to a plain proxy is theirs to write).
        connect.proxy.tunnel = true;
        if args.split == Some(0) {
            return Err(Error::new(ErrorKind::Usage, "--split needs 1 byte or more"));
        }
        if args.report.as_ref().is_some_and(|j| j.as_os_str() == "-") && !args.silent {
            return Err(Error::new(
                ErrorKind::Usage,
                "--report - needs -s, so that stdout is one JSON document",
            ));
        }
        Ok(Plan {
            target,
            connect,
            user_agent: crate::request::default_user_agent(),
            files: args.files.clone(),
            crlf: args.crlf,
            pipeline: args.pipeline,
            split: args.split,
            delay: Duration::from_millis(args.delay),
            wait: Duration::from_millis(args.wait),
            explain: args.explain,
            dry_run: args.dry_run,
            report_file: args.report.clone(),
            output_dir: args.output_dir.clone(),
            save_raw: args.save_raw.clone(),
            silent: args.silent,
            verbose: args.verbose,
        })
    }
}

/// Runs `rawget send`.
pub fn run(args: &SendArgs) -> Result<()> {
    let plan = Plan::from_args(args)?;
    diag::set_verbose(plan.verbose);
    let mut inputs = Inputs::open(&plan.files, plan.crlf)?;
    // --explain and --dry-run show the whole analysis before a byte is
    // sent, so only they read the whole input first (stdin cannot be read
    // twice); otherwise it is framed as it is written, in bounded pieces.
    if plan.explain || plan.dry_run {
        let bytes = inputs.read_all()?;
        diag::write(report::explain(&framing::frame(&bytes), bytes.len()).as_bytes());
        if plan.dry_run {
            // Through an HTTP proxy the CONNECT request goes first, as the
            // fetch's dry run shows it (a SOCKS handshake is not shown).
            let wire = crate::fetch::dial::dry_run_head(
                &plan.connect,
                &plan.target,
                bytes,
                &plan.user_agent,
            )?;
            return StdStream::stdout().write_all(&wire);
        }
        inputs = Inputs::bytes(bytes);
    }
    let mut out = Outgoing::new(inputs);
    if out.is_empty()? {
        return Err(Error::new(
            ErrorKind::Usage,
            "nothing to send: the input is empty",
        ));
    }
    // The requests and the rest are counted as they are framed.
    let mut session = exchange::Session::open(&plan, None, 0, None)?;
    let result = session.run(&mut out);
    session.settle(result)
}
