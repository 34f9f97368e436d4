//! From the command line as typed to checked options for a fetch.
//!
//! The second stage of argument handling (ripgrep's low/high args): clap
//! has checked the syntax; this module checks meaning (the method, header
//! syntax, timeouts, `--resolve` entries), reads `-d @FILE`, and settles the
//! URL. Failures here are usage errors (exit 2), bad URLs (3) or unreadable
//! input files (26).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cli::FetchArgs;
use crate::error::{Error, ErrorKind, Result};
use crate::output::{HeadFlags, HeadRouting};
use crate::request::{default_user_agent, Body, HeaderEdit, RequestSpec};
use crate::target::Target;
use crate::transport::{
    ConnectOptions, ConnectTo, Family, NoProxy, Proxy, ProxyEnv, ProxyPlan, ResolveOverride,
};

/// Everything a fetch needs, checked and decided: the plan. The fetch
/// never reads a raw flag; what depends on several flags or on the
/// terminal is decided here, once.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to go.
    pub target: Target,
    /// What to send.
    pub spec: RequestSpec,
    /// How to connect.
    pub connect: ConnectOptions,
    /// Where bytes go.
    pub output: OutputPlan,
    /// What the user is told besides the output.
    pub report: ReportPlan,
    /// `-L`: follow redirects, at most this many (`--max-redirs`).
    pub follow: Option<u32>,
    /// `-f`: a status of 400 or more is a failure.
    pub fail: bool,
    /// `--dry-run`: print the request, send nothing.
    pub dry_run: bool,
}

/// Where the body, the heads and the raw bytes go.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// `-o FILE`; `None` is stdout (no `-o`, or `-o -`).
    pub body: Option<PathBuf>,
    /// Where each head (and the trailers) is printed.
    pub heads: HeadRouting,
    /// `-I`: no body is read, whatever the method.
    pub no_body: bool,
    /// `--raw`: the body as received, chunked framing kept.
    pub raw: bool,
    /// `--save-raw FILE`.
    pub save_raw: Option<PathBuf>,
    /// `--keep-partial`.
    pub keep_partial: bool,
    /// Draw a progress bar: the body goes to a file, stderr is a terminal,
    /// and neither `-s`, `-v` nor `-I` is given.
    pub progress: bool,
    /// Refuse a binary body: it would go to stdout, a terminal, with no
    /// `-o` at all (`-o -` forces it), as curl refuses it.
    pub refuse_binary: bool,
}

/// The reports on stderr (and `--json`).
#[derive(Debug, Clone)]
pub struct ReportPlan {
    /// `-s`: no warnings either.
    pub silent: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--timing`.
    pub timing: bool,
    /// `--chunks`.
    pub chunks: bool,
    /// `--explain`.
    pub explain: bool,
    /// `--strict`: any finding fails the fetch.
    pub strict: bool,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
    /// Look for RFC deviations (`--explain`, `--strict`, `--json`).
    pub findings: bool,
}

impl Options {
    /// Checks `args`; `stdin` is read for `-d @-`.
    pub fn from_args(args: &FetchArgs, stdin: &mut dyn Read) -> Result<Options> {
        let url = args
            .url
            .as_deref()
            .ok_or_else(|| Error::new(ErrorKind::Usage, "no URL given"))?;
        let target = Target::parse(url)?;
        let headers = args
            .headers
            .iter()
            .map(|h| HeaderEdit::parse(h))
            .collect::<Result<Vec<_>>>()?;

        let mut pieces = Vec::new();
        for d in &args.data {
            pieces.push(data_arg(d, false, stdin)?);
        }
        for d in &args.data_binary {
            pieces.push(data_arg(d, true, stdin)?);
        }
        let body = (!pieces.is_empty()).then(|| Body {
            bytes: pieces.join(&b'&'),
            form: true,
        });
        if args.head && body.is_some() && args.method.is_none() {
            return Err(Error::new(
                ErrorKind::Usage,
                "-I (HEAD) cannot send -d data",
            ));
        }
        let method = match (&args.method, args.head, &body) {
            (Some(m), _, _) => {
                if m.is_empty()
                    || !m
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("bad -X \"{}\": not a method token", m.escape_debug()),
                    ));
                }
                m.clone()
            }
            (None, true, _) => "HEAD".to_owned(),
            (None, false, Some(_)) => "POST".to_owned(),
            (None, false, None) => "GET".to_owned(),
        };
        let spec = RequestSpec {
            method,
            http10: args.http10,
            user_agent: args.user_agent.clone().unwrap_or_else(default_user_agent),
            headers,
            body,
        };

        let deadline = seconds("-m/--max-time", args.max_time)?.map(|d| Instant::now() + d);
        let connect = ConnectOptions {
            resolve: args
                .resolve
                .iter()
                .map(|r| ResolveOverride::parse(r))
                .collect::<Result<_>>()?,
            connect_timeout: seconds("--connect-timeout", args.connect_timeout)?,
            deadline,
            insecure: args.insecure,
            cacert: args.cacert.clone(),
            family: match (args.ipv4, args.ipv6) {
                (true, _) => Some(Family::V4),
                (_, true) => Some(Family::V6),
                _ => None,
            },
            attempt_delay: args.happy_eyeballs_timeout_ms.map(Duration::from_millis),
            tls_min: if args.tlsv1_3 {
                Some(native_tls::Protocol::Tlsv13)
            } else {
                args.tlsv1_2.then_some(native_tls::Protocol::Tlsv12)
            },
            tls_max: tls_max(args)?,
            connect_to: args
                .connect_to
                .iter()
                .map(|c| ConnectTo::parse(c))
                .collect::<Result<_>>()?,
            proxy: proxy_plan(args, ProxyEnv::from_process())?,
        };
        let body_path = args.output.clone().filter(|p| p.as_os_str() != "-");
        if body_path.is_none() && args.json.as_ref().is_some_and(|j| j.as_os_str() == "-") {
            return Err(Error::new(
                ErrorKind::Usage,
                "--json - needs the body in a file (-o FILE)",
            ));
        }
        let heads = HeadRouting::decide(
            &HeadFlags {
                head_only: args.head,
                include: args.include,
                silent: args.silent,
                verbose: args.verbose,
                dump_header: args.dump_header.clone(),
            },
            body_path.is_none(),
        );
        let output = OutputPlan {
            progress: body_path.is_some()
                && !args.silent
                && !args.verbose
                && !args.head
                && std::io::stderr().is_terminal(),
            refuse_binary: args.output.is_none() && std::io::stdout().is_terminal(),
            body: body_path,
            heads,
            no_body: args.head,
            raw: args.raw,
            save_raw: args.save_raw.clone(),
            keep_partial: args.keep_partial,
        };
        let report = ReportPlan {
            silent: args.silent,
            verbose: args.verbose,
            timing: args.timing,
            chunks: args.chunks,
            explain: args.explain,
            strict: args.strict,
            json: args.json.clone(),
            findings: args.explain || args.strict || args.json.is_some(),
        };
        Ok(Options {
            target,
            spec,
            connect,
            output,
            report,
            follow: args.location.then_some(args.max_redirs),
            fail: args.fail,
            dry_run: args.dry_run,
        })
    }
}

/// `-x`, `-U`, `-p`, `--noproxy`, `--suppress-connect-headers` and the
/// proxy variables (`env`, read once here): which proxy each target uses
/// is then [`ProxyPlan::route`]'s pure choice.
fn proxy_plan(args: &FetchArgs, env: ProxyEnv) -> Result<ProxyPlan> {
    let explicit = match args.proxy.as_deref() {
        None => None,
        Some(x) if x.trim().is_empty() => Some(None),
        Some(x) => Some(Some(Proxy::parse(x)?)),
    };
    Ok(ProxyPlan {
        explicit,
        env,
        noproxy: args.noproxy.as_deref().map(NoProxy::parse),
        tunnel: args.proxytunnel,
        user: args.proxy_user.as_ref().map(|u| {
            let mut c = u.clone().into_bytes();
            if !u.contains(':') {
                c.push(b':');
            }
            c
        }),
        suppress_connect_headers: args.suppress_connect_headers,
    })
}

/// `--tls-max VERSION`: 1.2 or 1.3 (rawget offers nothing older), not
/// below `--tlsv1.3`.
fn tls_max(args: &FetchArgs) -> Result<Option<native_tls::Protocol>> {
    let Some(v) = args.tls_max.as_deref() else {
        return Ok(None);
    };
    let max = match v {
        "1.2" => native_tls::Protocol::Tlsv12,
        "1.3" => native_tls::Protocol::Tlsv13,
        _ => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "bad --tls-max \"{}\": expected 1.2 or 1.3",
                    v.escape_debug()
                ),
            ))
        }
    };
    if args.tlsv1_3 && v == "1.2" {
        return Err(Error::new(
            ErrorKind::Usage,
            "--tls-max 1.2 is below --tlsv1.3",
        ));
    }
    Ok(Some(max))
}

/// A time limit in seconds; 0 means none, as in curl.
fn seconds(flag: &str, value: Option<f64>) -> Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(0.0) => Ok(None),
        Some(s) => Duration::try_from_secs_f64(s).map(Some).map_err(|_| {
            Error::new(
                ErrorKind::Usage,
                format!("bad {flag} {s}: expected seconds, 0 or more"),
            )
        }),
    }
}

/// One `-d`/`--data-binary` value: text, or `@FILE` (`@-` for stdin).
/// `-d @FILE` drops CR and LF, as curl does; `--data-binary` keeps every byte.
fn data_arg(arg: &str, binary: bool, stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.as_bytes().to_vec());
    };
    let read_err = |e| {
        Error::new(
            ErrorKind::ReadInput,
            format!("could not read data file {path}"),
        )
        .with_source(e)
    };
    let mut bytes = Vec::new();
    if path == "-" {
        stdin.read_to_end(&mut bytes).map_err(read_err)?;
    } else {
        bytes = std::fs::read(path).map_err(read_err)?;
    }
    if !binary {
        bytes.retain(|&b| b != b'\r' && b != b'\n');
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn opts(args: &[&str]) -> Result<Options> {
        let cli =
            Cli::try_parse_from(std::iter::once("rawget").chain(args.iter().copied())).unwrap();
        Options::from_args(&cli.fetch, &mut &b"from\nstdin"[..])
    }

    #[test]
    fn method_choice() {
        assert_eq!(opts(&["h"]).unwrap().spec.method, "GET");
        assert_eq!(opts(&["-I", "h"]).unwrap().spec.method, "HEAD");
        assert_eq!(opts(&["-d", "x", "h"]).unwrap().spec.method, "POST");
        assert_eq!(
            opts(&["-X", "PUT", "-d", "x", "h"]).unwrap().spec.method,
            "PUT"
        );
        assert_eq!(
            opts(&["-I", "-d", "x", "h"]).unwrap_err().kind(),
            ErrorKind::Usage
        );
        assert_eq!(
            opts(&["-X", "GET X", "h"]).unwrap_err().kind(),
            ErrorKind::Usage
        );
    }

    #[test]
    fn data_forms() {
        let o = opts(&["-d", "a=1", "-d", "b=2", "h"]).unwrap();
        assert_eq!(o.spec.body.unwrap().bytes, b"a=1&b=2");
        let o = opts(&["-d", "@-", "h"]).unwrap();
        assert_eq!(o.spec.body.unwrap().bytes, b"fromstdin");
        let o = opts(&["--data-binary", "@-", "h"]).unwrap();
        assert_eq!(o.spec.body.unwrap().bytes, b"from\nstdin");
        let e = opts(&["-d", "@/nonexistent/file", "h"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadInput);
        assert_eq!(e.to_string(), "could not read data file /nonexistent/file");
    }

    #[test]
    fn timeouts_and_resolve() {
        let o = opts(&[
            "-m",
            "1.5",
            "--connect-timeout",
            "0",
            "--resolve",
            "h:80:127.0.0.1",
            "h",
        ])
        .unwrap();
        assert!(o.connect.deadline.is_some());
        assert_eq!(o.connect.connect_timeout, None);
        assert_eq!(o.connect.resolve.len(), 1);
        assert_eq!(
            opts(&["--max-time=-1", "h"]).unwrap_err().kind(),
            ErrorKind::Usage
        );
        assert_eq!(
            opts(&["-m", "NaN", "h"]).unwrap_err().kind(),
            ErrorKind::Usage
        );
        assert_eq!(
            opts(&["--resolve", "bad", "h"]).unwrap_err().kind(),
            ErrorKind::Usage
        );
    }

    #[test]
    fn output_dash_is_stdout() {
        assert_eq!(opts(&["-o", "-", "h"]).unwrap().output.body, None);
        assert_eq!(
            opts(&["-o", "f", "h"]).unwrap().output.body,
            Some(PathBuf::from("f"))
        );
    }
}
