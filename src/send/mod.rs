//! `rawget send URL [FILE]...`: hand-built requests, sent byte for byte on
//! one connection, and every response read back as HTTP.
//!
//! - `mod.rs`: the command: the plan from the flags ([`Plan`]), the bytes
//!   to send, the analysis before sending, and the outcome.
//! - `framing.rs`: how many requests the bytes hold and where each ends
//!   (RFC 9112 §6 for requests, sans-I/O), every ambiguity named.
//! - `exchange.rs`: the driver: connect, write (keep-alive or pipelined,
//!   in pieces), read each response with the fetch's own
//!   [`Reader`](crate::response::reader::Reader) on the fetch's own
//!   [`Conn`](crate::fetch::conn::Conn).
//! - `report.rs`: what the user is told: `--explain`, the verdict (and the
//!   desync it may find), the `--report` report.

pub mod framing;

mod exchange;
mod report;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::SendArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::options::connect_options;
use crate::output::{diag, StdStream};
use crate::target::Target;
use crate::transport::ConnectOptions;

/// Everything `rawget send` needs, checked: the plan.
#[derive(Debug)]
pub struct Plan {
    /// Where to connect.
    pub target: Target,
    /// How to connect (through an HTTP proxy: always a CONNECT tunnel).
    pub connect: ConnectOptions,
    /// The `User-Agent` of a CONNECT request to a proxy.
    pub user_agent: String,
    /// The bytes to send, after `--crlf`.
    pub bytes: Vec<u8>,
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
    /// Checks `args` and reads the FILEs (`stdin` for none, or `-`).
    pub fn from_args(args: &SendArgs, stdin: &mut dyn Read) -> Result<Plan> {
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
        let mut bytes = read_inputs(&args.files, stdin)?;
        if args.crlf {
            bytes = crlf(&bytes);
        }
        Ok(Plan {
            target,
            connect,
            user_agent: crate::request::default_user_agent(),
            bytes,
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
    let plan = Plan::from_args(args, &mut std::io::stdin().lock())?;
    diag::set_verbose(plan.verbose);
    // Every request is kept only when the analysis or the report shows
    // them all; otherwise they are counted here and framed again, one at a
    // time, as they are sent and answered.
    let framed = (plan.explain || plan.dry_run || plan.report_file.is_some())
        .then(|| framing::frame(&plan.bytes));
    if let (true, Some(framed)) = (plan.explain || plan.dry_run, &framed) {
        diag::write(report::explain(framed, plan.bytes.len()).as_bytes());
    }
    if plan.dry_run {
        return StdStream::stdout().write_all(&plan.bytes);
    }
    if plan.bytes.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            "nothing to send: the input is empty",
        ));
    }
    let (requests, rest) = match &framed {
        Some(f) => (f.requests.len(), f.rest.clone()),
        None => framing::count(&plan.bytes),
    };
    let mut session = exchange::Session::open(&plan, framed.as_ref(), requests, rest)?;
    let result = session.run();
    session.settle(result)
}

/// The FILEs one after another, exactly as stored; stdin for none or `-`.
fn read_inputs(files: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let read_err = |name: String| {
        move |e| Error::new(ErrorKind::ReadInput, format!("could not read {name}")).with_source(e)
    };
    let mut bytes = Vec::new();
    if files.is_empty() {
        stdin
            .read_to_end(&mut bytes)
            .map_err(read_err("stdin".to_owned()))?;
    }
    for f in files {
        if f.as_os_str() == "-" {
            stdin
                .read_to_end(&mut bytes)
                .map_err(read_err("stdin".to_owned()))?;
        } else {
            let got = std::fs::read(f).map_err(read_err(f.display().to_string()))?;
            bytes.extend_from_slice(&got);
        }
    }
    Ok(bytes)
}

/// `--crlf`: every LF not already after a CR becomes CRLF (ncat's `--crlf`).
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_turns_only_bare_lf() {
        assert_eq!(
            crlf(b"GET / HTTP/1.1\nA: b\r\n\n"),
            b"GET / HTTP/1.1\r\nA: b\r\n\r\n"
        );
        assert_eq!(crlf(b"\n\r\n"), b"\r\n\r\n");
        assert_eq!(crlf(b"no newline"), b"no newline");
    }
}
