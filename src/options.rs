//! From the command line as typed to checked options for a fetch.
//!
//! The second stage of argument handling (ripgrep's low/high args): clap
//! has checked the syntax; this module checks meaning (the method, header
//! syntax, timeouts, `--resolve` entries), reads `-d @FILE`, and settles the
//! URL. Failures here are usage errors (exit 2), bad URLs (3) or unreadable
//! input files (26).

use std::io::{IsTerminal, Read};

use crate::output::colour;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cli::FetchArgs;
use crate::cookies::CookiePlan;
use crate::error::{Error, ErrorKind, Result};
use crate::inputs;
use crate::output::{HeadFlags, HeadRouting};
use crate::request::{default_user_agent, HeaderEdit, Multipart, RequestSpec, Upload};
use crate::target::Target;
use crate::transport::{
    ConnectOptions, ConnectTo, Family, NoProxy, Proxy, ProxyEnv, ProxyPlan, ResolveOverride,
    UnixSocket,
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
    /// What is done with the body's codings and size.
    pub bodies: BodyPlan,
    /// `--retry` and its companions.
    pub retry: RetryPlan,
    /// `-b`, `-c`, `-j`.
    pub cookies: CookiePlan,
    /// `-u`, the URL's credentials, `--netrc*`, `--location-trusted`:
    /// what each hop is sent.
    pub credentials: crate::credentials::CredentialPlan,
}

/// When and how a failed transfer is tried again (`--retry N`, as curl).
#[derive(Debug, Clone, Default)]
pub struct RetryPlan {
    /// Retries after the first attempt.
    pub count: u32,
    /// `--retry-delay`: a fixed wait; `None`: Retry-After, else exponential
    /// backoff from 1 s.
    pub delay: Option<Duration>,
    /// `--retry-max-time`: no retry starts later than this after the first
    /// attempt.
    pub max_time: Option<Duration>,
    /// `--retry-all-errors`.
    pub all_errors: bool,
    /// `--retry-connrefused`.
    pub connrefused: bool,
    /// `-m`: each attempt has the whole of it, as in curl.
    pub attempt_time: Option<Duration>,
    /// `-C -`: each attempt resumes from the file's length then.
    pub resume_from_file: bool,
}

/// The body's codings and size limit (`--compressed`, `--tr-encoding`,
/// `--max-filesize`).
#[derive(Debug, Clone, Default)]
pub struct BodyPlan {
    /// Undo the `Content-Encoding` codings (`--compressed`, not `--raw`).
    pub content: bool,
    /// Undo the `Transfer-Encoding` codings besides chunked
    /// (`--tr-encoding`, not `--raw`).
    pub transfer: bool,
    /// `--max-filesize`: the most body bytes (decoded) to accept.
    pub max_filesize: Option<u64>,
    /// `-r RANGE`: the first byte position asked for (`Some(None)` when
    /// the range does not start at one: `-N`, or several ranges).
    pub range: Option<Option<u64>>,
    /// `-C`: resume at this byte (more than 0): the request asks for the
    /// bytes from there, and only a 206 that starts there is written
    /// (appended to `-o FILE`, `src/response/range.rs`).
    pub resume: Option<u64>,
}

impl BodyPlan {
    /// The plan from `args`; the request headers the codings ask with are
    /// added to `spec` (`Accept-Encoding`; `TE`, which `Connection` must
    /// name, RFC 9110 section 10.1.4), unless a `-H` names them.
    fn from_args(
        args: &FetchArgs,
        spec: &mut RequestSpec,
        file: Option<&std::path::Path>,
    ) -> Result<BodyPlan> {
        let named = |spec: &RequestSpec, name: &str| {
            spec.headers
                .iter()
                .any(|h| h.name().eq_ignore_ascii_case(name))
        };
        let mut asks = Vec::new();
        if args.compressed && !named(spec, "Accept-Encoding") {
            asks.push(HeaderEdit::Set(
                "Accept-Encoding".into(),
                crate::response::coding::ACCEPT_ENCODING.into(),
            ));
        }
        if args.tr_encoding && !named(spec, "TE") {
            asks.push(HeaderEdit::Set("TE".into(), "gzip".into()));
            if !named(spec, "Connection") {
                asks.push(HeaderEdit::Set("Connection".into(), "TE, close".into()));
            }
        }
        let (range, resume) = ranges(args, file)?;
        let bytes = match (&args.range, resume) {
            (Some(r), _) => Some(r.trim().to_owned()),
            (None, Some(at)) => Some(format!("{at}-")),
            (None, None) => None,
        };
        if let (Some(bytes), false) = (bytes, named(spec, "Range")) {
            asks.push(HeaderEdit::Set("Range".into(), format!("bytes={bytes}")));
        }
        spec.headers.splice(0..0, asks);
        let max_filesize = args.max_filesize.as_deref().map(size).transpose()?;
        Ok(BodyPlan {
            content: args.compressed && !args.raw,
            transfer: args.tr_encoding && !args.raw,
            max_filesize,
            range,
            resume,
        })
    }
}

impl Options {
    /// The plan for another attempt (`--retry`): `-m` starts afresh, and
    /// `-C -` resumes from what the file holds now (a failed attempt may
    /// have kept some with `--keep-partial`).
    pub fn next_attempt(&self) -> Options {
        let mut next = self.clone();
        next.connect.deadline = self.retry.attempt_time.map(|d| Instant::now() + d);
        let file = match (&self.output.body, self.retry.resume_from_file) {
            (Some(file), true) => file,
            _ => return next,
        };
        let at = std::fs::metadata(file)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0, |m| m.len());
        next.bodies.resume = (at > 0).then_some(at);
        let ours = |h: &HeaderEdit| matches!(h, HeaderEdit::Set(n, v) if n == "Range" && v.starts_with("bytes=") && v.ends_with('-'));
        let user_range = self
            .spec
            .headers
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case("Range") && !ours(h));
        if !user_range {
            next.spec.headers.retain(|h| !ours(h));
            if at > 0 {
                next.spec
                    .headers
                    .insert(0, HeaderEdit::Set("Range".into(), format!("bytes={at}-")));
            }
        }
        next
    }
}

/// Where the body goes: `-o FILE`, or with `-O` the URL's last path
/// segment (as sent, not decoded, as curl names it), under `--output-dir`
/// when FILE is relative; `None` is stdout.
fn body_path(args: &FetchArgs, target: &Target) -> Result<Option<PathBuf>> {
    let remote = args.remote_name > 0 || args.remote_name_all;
    if args.remote_header_name && !remote {
        return Err(Error::new(ErrorKind::Usage, "-J needs -O"));
    }
    let name = match (args.outputs.first(), remote) {
        (Some(p), _) if p.as_os_str() == "-" => return Ok(None),
        (Some(p), _) => p.clone(),
        (None, true) => {
            let path = target.path_and_query.split('?').next().unwrap_or("");
            let last = path.rsplit('/').next().unwrap_or("");
            if last.is_empty() || last == "." || last == ".." {
                return Err(Error::new(
                    ErrorKind::Write,
                    format!(
                        "-O: the URL {} has no file name to save to (use -o FILE)",
                        target.redacted()
                    ),
                ));
            }
            PathBuf::from(last)
        }
        (None, false) => return Ok(None),
    };
    Ok(Some(match &args.output_dir {
        Some(dir) if name.is_relative() => dir.join(name),
        _ => name,
    }))
}

/// `-r` and `-C`: the range's first position, and the offset to resume
/// at (`-C -`: the `-o` FILE's length; a FILE that is empty or missing is
/// a download from the start, with no Range sent).
fn ranges(
    args: &FetchArgs,
    file: Option<&std::path::Path>,
) -> Result<(Option<Option<u64>>, Option<u64>)> {
    let usage = |m: String| Error::new(ErrorKind::Usage, m);
    let range = match &args.range {
        Some(r) => Some(
            crate::response::range::check_range_arg(r.trim())
                .map_err(|why| usage(format!("bad -r \"{}\": {why}", r.escape_debug())))?,
        ),
        None => None,
    };
    let Some(at) = &args.continue_at else {
        return Ok((range, None));
    };
    if range.is_some() {
        return Err(usage("-C and -r cannot be used together".into()));
    }
    if args.compressed || args.tr_encoding {
        // The offset counts encoded bytes; the file holds decoded ones.
        return Err(usage(
            "-C cannot be used with --compressed or --tr-encoding".into(),
        ));
    }
    let length = match file {
        Some(path) => match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Some(m.len()),
            _ => None,
        },
        None => None,
    };
    let offset = if at == "-" {
        if file.is_none() {
            return Err(usage(
                "-C - needs -o FILE, whose length it resumes from".into(),
            ));
        }
        length.unwrap_or(0)
    } else {
        let n: u64 = at.parse().map_err(|_| {
            usage(format!(
                "bad -C \"{}\": expected bytes or -",
                at.escape_debug()
            ))
        })?;
        // Appending is safe only at the end of what the file holds.
        if let (Some(path), Some(len)) = (file, length) {
            if n != len && n > 0 {
                return Err(usage(format!(
                    "-C {n}: {} has {len} bytes; -C - resumes from its length",
                    path.display()
                )));
            }
        }
        n
    };
    Ok((range, (offset > 0).then_some(offset)))
}

/// A size in bytes as curl reads one: digits, then an optional `k`, `M`
/// or `G` (powers of 1024, either case).
fn size(text: &str) -> Result<u64> {
    let bad = || {
        Error::new(
            ErrorKind::Usage,
            format!(
                "bad --max-filesize \"{}\": expected bytes, optionally with k, M or G",
                text.escape_debug()
            ),
        )
    };
    let (digits, shift) = match text.as_bytes().last().map(u8::to_ascii_lowercase) {
        Some(b'k') => (&text[..text.len() - 1], 10),
        Some(b'm') => (&text[..text.len() - 1], 20),
        Some(b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
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
    /// `-J`: name the file from Content-Disposition, in this directory
    /// (`--output-dir`, else the current one); never over an existing file.
    pub header_name_in: Option<PathBuf>,
    /// `--create-dirs`: make the body file's directory first.
    pub create_dirs: bool,
    /// A URL after the first of a command: `-D` and `--save-raw` are
    /// appended to, not created afresh.
    pub append_captures: bool,
}

/// The reports on stderr (and `--report`).
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
    /// `--report FILE`.
    pub report_file: Option<PathBuf>,
    /// Look for RFC deviations (`--explain`, `--strict`, `--report`).
    pub findings: bool,
    /// `-w FORMAT`, with `@FILE` already read.
    pub write_out: Option<String>,
    /// `--trace FILE` / `--trace-ascii FILE`, `--trace-time`.
    pub trace: Option<TracePlan>,
    /// Dim the `-v` prefixes (stderr is a terminal, `--color`).
    pub colour: bool,
}

/// Where `--trace` writes, in which layout.
#[derive(Debug, Clone)]
pub struct TracePlan {
    /// The file; `-` is stderr.
    pub path: PathBuf,
    /// Hex and text (`--trace`) or text (`--trace-ascii`).
    pub layout: crate::observe::wire_trace::Layout,
    /// `--trace-time`: each block stamped with the time of day.
    pub time: bool,
}

impl Options {
    /// Checks `args`; `stdin` is read for `-d @-`.
    pub fn from_args(args: &FetchArgs, stdin: &mut dyn Read) -> Result<Options> {
        let url = args
            .urls
            .first()
            .map(String::as_str)
            .ok_or_else(|| Error::new(ErrorKind::Usage, "no URL given"))?;
        let target = Target::parse(url)?;
        let target = match &args.request_target {
            Some(t) => crate::request::with_request_target(&target, t)?,
            None => target,
        };
        let mut headers = inputs::header_args(&args.headers, stdin)?;
        let mut body = inputs::data_body(args, stdin)?;
        if let Some(referer) = referer_header(args.referer.as_deref(), &headers)? {
            headers.insert(0, referer);
        }
        let mut target = target;
        if args.get {
            if let Some(data) = body.take() {
                target = target.with_query_data(&data.bytes)?;
            }
        }
        let upload = upload_arg(args.upload_file.as_deref())?;
        let multipart = Multipart::from_args(&args.form, &args.form_string, stdin)?;
        if multipart.is_some() && (body.is_some() || upload.is_some()) {
            return Err(Error::new(
                ErrorKind::Usage,
                "-F cannot be combined with -d, --data-*, --json or -T",
            ));
        }
        if args.head && multipart.is_some() && args.method.is_none() {
            return Err(Error::new(ErrorKind::Usage, "-I (HEAD) cannot send -F"));
        }
        if let Some(u) = &upload {
            if body.is_some() {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "-T cannot be combined with -d, --data-* or --json data",
                ));
            }
            // `-T FILE` to a URL ending in `/` names the file there, as curl.
            if let Some(name) = u.path.as_deref().and_then(|p| p.file_name()) {
                target = target.with_file_name(&name.to_string_lossy())?;
            }
        }
        if args.head && upload.is_some() && args.method.is_none() {
            return Err(Error::new(ErrorKind::Usage, "-I (HEAD) cannot send -T"));
        }
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
            (None, false, _) if upload.is_some() => "PUT".to_owned(),
            (None, false, _) if multipart.is_some() => "POST".to_owned(),
            (None, false, Some(_)) => "POST".to_owned(),
            (None, false, None) => "GET".to_owned(),
        };
        let mut spec = RequestSpec {
            method,
            http10: args.http10,
            user_agent: args.user_agent.clone().unwrap_or_else(default_user_agent),
            headers,
            body,
            upload,
            multipart,
        };

        let body_path = body_path(args, &target)?;
        let bodies = BodyPlan::from_args(args, &mut spec, body_path.as_deref())?;
        let retry = RetryPlan {
            count: args.retry,
            delay: args
                .retry_delay
                .map(|d| {
                    Duration::try_from_secs_f64(d)
                        .map_err(|_| Error::new(ErrorKind::Usage, format!("bad --retry-delay {d}")))
                })
                .transpose()?,
            max_time: seconds("--retry-max-time", args.retry_max_time)?,
            all_errors: args.retry_all_errors,
            connrefused: args.retry_connrefused,
            attempt_time: seconds("-m/--max-time", args.net.max_time)?,
            resume_from_file: args.continue_at.as_deref() == Some("-"),
        };
        let mut connect = connect_options(&args.net)?;
        // What only the fetch has.
        connect.proxy.suppress_connect_headers = args.suppress_connect_headers;
        if body_path.is_none() && args.report.as_ref().is_some_and(|j| j.as_os_str() == "-") {
            return Err(Error::new(
                ErrorKind::Usage,
                "--report - needs the body in a file (-o FILE)",
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
        let mut heads = heads;
        heads.colour_stdout = colour::wanted(args.color, std::io::stdout().is_terminal());
        heads.colour_stderr = colour::wanted(args.color, std::io::stderr().is_terminal());
        let output = OutputPlan {
            progress: body_path.is_some()
                && !args.silent
                && !args.verbose
                && !args.head
                && std::io::stderr().is_terminal(),
            refuse_binary: args.outputs.is_empty() && std::io::stdout().is_terminal(),
            body: body_path,
            heads,
            no_body: args.head,
            raw: args.raw,
            save_raw: args.save_raw.clone(),
            keep_partial: args.keep_partial,
            header_name_in: args.remote_header_name.then(|| {
                args.output_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("."))
            }),
            create_dirs: args.create_dirs,
            append_captures: false,
        };
        let report = ReportPlan {
            silent: args.silent,
            verbose: args.verbose,
            timing: args.timing,
            chunks: args.chunks,
            explain: args.explain,
            strict: args.strict,
            report_file: args.report.clone(),
            findings: args.explain
                || args.strict
                || args.report.is_some()
                || args.write_out.is_some(),
            write_out: args
                .write_out
                .as_deref()
                .map(|f| write_out_format(f, stdin))
                .transpose()?,
            colour: colour::wanted(args.color, std::io::stderr().is_terminal()),
            trace: {
                use crate::observe::wire_trace::Layout;
                let hex = args.trace.clone().map(|p| (p, Layout::Hex));
                hex.or_else(|| args.trace_ascii.clone().map(|p| (p, Layout::Ascii)))
                    .map(|(path, layout)| TracePlan {
                        path,
                        layout,
                        time: args.trace_time,
                    })
            },
        };
        let credentials = crate::credentials::CredentialPlan::from_flags(
            crate::credentials::CredentialFlags {
                user: args.user.as_deref(),
                netrc: args.netrc,
                netrc_file: args.netrc_file.as_deref(),
                netrc_optional: args.netrc_optional,
                location_trusted: args.location_trusted,
            },
            &target,
        )?;
        target.credentials = credentials.for_target(&target);
        Ok(Options {
            credentials,
            target,
            spec,
            connect,
            output,
            report,
            follow: args.location.then_some(args.max_redirs),
            fail: args.fail,
            dry_run: args.dry_run,
            bodies,
            retry,
            cookies: CookiePlan::from_args(
                &args.cookie,
                args.cookie_jar.as_deref(),
                args.junk_session_cookies,
            )?,
        })
    }
}

/// How to connect, from the network flags ([`NetArgs`](crate::cli::NetArgs):
/// timeouts, addresses, certificates, proxies, Unix sockets) and the proxy
/// variables: the same for the fetch and `rawget send`. The `-m` deadline
/// starts now.
pub(crate) fn connect_options(net: &crate::cli::NetArgs) -> Result<ConnectOptions> {
    let deadline = seconds("-m/--max-time", net.max_time)?.map(|d| Instant::now() + d);
    Ok(ConnectOptions {
        family: match (net.ipv4, net.ipv6) {
            (true, _) => Some(Family::V4),
            (_, true) => Some(Family::V6),
            _ => None,
        },
        attempt_delay: net.happy_eyeballs_timeout_ms.map(Duration::from_millis),
        connect_to: net
            .connect_to
            .iter()
            .map(|c| ConnectTo::parse(c))
            .collect::<Result<_>>()?,
        proxy: proxy_plan(net, ProxyEnv::from_process())?,
        unix_socket: unix_socket(net)?,
        proxy_insecure: net.proxy_insecure,
        proxy_cacert: net.proxy_cacert.clone(),
        resolve: net
            .resolve
            .iter()
            .map(|r| ResolveOverride::parse(r))
            .collect::<Result<_>>()?,
        connect_timeout: seconds("--connect-timeout", net.connect_timeout)?,
        deadline,
        insecure: net.insecure,
        cacert: net.cacert.clone(),
        tls_min: if net.tlsv1_3 {
            Some(native_tls::Protocol::Tlsv13)
        } else {
            net.tlsv1_2.then_some(native_tls::Protocol::Tlsv12)
        },
        tls_max: tls_max(net)?,
        client_cert: net
            .cert
            .as_deref()
            .map(|c| {
                crate::transport::ClientCert::from_flags(
                    c,
                    net.cert_type.as_deref(),
                    net.key.as_deref(),
                    net.key_type.as_deref(),
                    net.pass.as_deref(),
                )
            })
            .transpose()?,
    })
}

/// `--unix-socket PATH` or `--abstract-unix-socket NAME` (Linux only: a
/// usage error elsewhere).
fn unix_socket(net: &crate::cli::NetArgs) -> Result<Option<UnixSocket>> {
    if let Some(path) = &net.unix_socket {
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::Usage, "--unix-socket needs a path"));
        }
        return Ok(Some(UnixSocket::Path(path.clone())));
    }
    match &net.abstract_unix_socket {
        None => Ok(None),
        Some(_) if !cfg!(any(target_os = "linux", target_os = "android")) => Err(Error::new(
            ErrorKind::Usage,
            "--abstract-unix-socket needs Linux (abstract sockets exist only there)",
        )),
        Some(name) => Ok(Some(UnixSocket::Abstract(name.clone()))),
    }
}

/// `-x`, `-U`, `-p`, `--noproxy` and the proxy variables (`env`, read once
/// here): which proxy each target uses is then [`ProxyPlan::route`]'s pure
/// choice.
fn proxy_plan(args: &crate::cli::NetArgs, env: ProxyEnv) -> Result<ProxyPlan> {
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
        suppress_connect_headers: false,
    })
}

/// `--tls-max VERSION`: 1.2 or 1.3 (rawget offers nothing older), not
/// below `--tlsv1.3`.
fn tls_max(net: &crate::cli::NetArgs) -> Result<Option<native_tls::Protocol>> {
    let Some(v) = net.tls_max.as_deref() else {
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
    if net.tlsv1_3 && v == "1.2" {
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

/// `-w FORMAT`, or the format in `@FILE` (`@-`: stdin), as curl reads it.
fn write_out_format(arg: &str, stdin: &mut dyn Read) -> Result<String> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.to_owned());
    };
    let mut text = String::new();
    let read = if path == "-" {
        stdin.read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!("could not read the -w format file {path}"),
        )
        .with_source(e)
    })?;
    Ok(text)
}

/// `-T FILE` (`-` is stdin): the file is opened now, so that one that
/// cannot be read fails before anything connects (exit 26), and its length
/// taken for `Content-Length`; what is not a regular file (a FIFO) has none
/// and is sent chunked, as stdin is.
fn upload_arg(arg: Option<&std::path::Path>) -> Result<Option<Upload>> {
    let Some(path) = arg else {
        return Ok(None);
    };
    if path.as_os_str() == "-" {
        return Ok(Some(Upload {
            path: None,
            len: None,
        }));
    }
    let meta = std::fs::File::open(path)
        .and_then(|f| f.metadata())
        .map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("could not read upload file {}", path.display()),
            )
            .with_source(e)
        })?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::ReadInput,
            format!(
                "could not read upload file {}: it is a directory",
                path.display()
            ),
        ));
    }
    Ok(Some(Upload {
        path: Some(path.to_owned()),
        len: meta.is_file().then_some(meta.len()),
    }))
}

/// `-e URL`: a `Referer` line before the `-H` lines, where curl puts it;
/// a `-H Referer` wins. curl's `;auto` (a Referer on each `-L` hop) is not
/// supported, and saying so beats sending `;auto` as the value.
fn referer_header(value: Option<&str>, headers: &[HeaderEdit]) -> Result<Option<HeaderEdit>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if value.ends_with(";auto") {
        return Err(Error::new(
            ErrorKind::Usage,
            "-e \"URL;auto\" is not supported: give the Referer URL alone",
        ));
    }
    let edit = HeaderEdit::parse(&format!("Referer: {value}"))?;
    let named = headers
        .iter()
        .any(|h| h.name().eq_ignore_ascii_case("Referer"));
    Ok((!named).then_some(edit))
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
    fn json_pieces_are_concatenated_then_joined_with_data() {
        let o = opts(&["--json", "{\"a\":1}", "--json", "@-", "h"]).unwrap();
        assert_eq!(o.spec.method, "POST");
        let body = o.spec.body.unwrap();
        assert!(body.json);
        assert_eq!(body.bytes, b"{\"a\":1}from\nstdin");
        let o = opts(&["--json", "[]", "-d", "x=1", "h"]).unwrap();
        assert_eq!(o.spec.body.unwrap().bytes, b"[]&x=1");
        assert!(!opts(&["-d", "x", "h"]).unwrap().spec.body.unwrap().json);
        let e = opts(&["--json", "@/nonexistent/j", "h"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadInput);
    }

    #[test]
    fn get_moves_the_data_into_the_query() {
        let o = opts(&["-G", "-d", "a=1", "--data-raw", "b c", "h/p?q#f"]).unwrap();
        assert_eq!((o.spec.method.as_str(), o.spec.body), ("GET", None));
        assert_eq!(o.target.path_and_query, "/p?q&a=1&b%20c");
        let o = opts(&["-G", "-I", "-d", "a=1", "h"]).unwrap();
        assert_eq!(
            (o.spec.method.as_str(), o.target.path_and_query.as_str()),
            ("HEAD", "/?a=1")
        );
        assert_eq!(opts(&["-G", "h/p"]).unwrap().target.path_and_query, "/p");
    }

    #[test]
    fn referer_goes_first_unless_a_header_names_it() {
        let o = opts(&["-e", "http://r/", "-H", "X: 1", "h"]).unwrap();
        assert_eq!(
            o.spec.headers[0],
            HeaderEdit::Set("Referer".into(), "http://r/".into())
        );
        let o = opts(&["-e", "http://r/", "-H", "referer: x", "h"]).unwrap();
        assert_eq!(o.spec.headers.len(), 1);
        let e = opts(&["-e", "http://r/;auto", "h"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
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
    fn max_filesize_sizes() {
        let max = |a: &str| {
            let flag = format!("--max-filesize={a}");
            opts(&[&flag, "h"]).map(|o| o.bodies.max_filesize)
        };
        assert_eq!(max("100").unwrap(), Some(100));
        assert_eq!(max("2k").unwrap(), Some(2048));
        assert_eq!(max("3M").unwrap(), Some(3 << 20));
        assert_eq!(max("1g").unwrap(), Some(1 << 30));
        for bad in ["", "k", "-1", "1.5M", "1T", "99999999999999999999G"] {
            assert_eq!(max(bad).unwrap_err().kind(), ErrorKind::Usage, "{bad}");
        }
    }

    #[test]
    fn codings_ask_unless_a_header_says_otherwise() {
        let o = opts(&["--compressed", "--tr-encoding", "h"]).unwrap();
        assert_eq!(
            o.spec.headers,
            vec![
                HeaderEdit::Set("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()),
                HeaderEdit::Set("TE".into(), "gzip".into()),
                HeaderEdit::Set("Connection".into(), "TE, close".into()),
            ]
        );
        assert!(o.bodies.content && o.bodies.transfer);
        let o = opts(&["--compressed", "-H", "Accept-Encoding: br", "--raw", "h"]).unwrap();
        assert_eq!(o.spec.headers.len(), 1);
        assert!(!o.bodies.content, "--raw keeps the encoded bytes");
    }

    #[test]
    fn range_and_resume_ask_for_bytes() {
        let o = opts(&["-r", "10-19", "h"]).unwrap();
        assert_eq!(o.bodies.range, Some(Some(10)));
        assert_eq!(
            o.spec.headers,
            vec![HeaderEdit::Set("Range".into(), "bytes=10-19".into())]
        );
        let o = opts(&["-C", "100", "h"]).unwrap();
        assert_eq!(o.bodies.resume, Some(100));
        assert_eq!(
            o.spec.headers,
            vec![HeaderEdit::Set("Range".into(), "bytes=100-".into())]
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("part");
        let f = f.to_str().unwrap();
        assert_eq!(
            opts(&["-C", "-", "-o", f, "h"]).unwrap().bodies.resume,
            None
        );
        std::fs::write(f, b"12345").unwrap();
        let o = opts(&["-C", "-", "-o", f, "h"]).unwrap();
        assert_eq!(o.bodies.resume, Some(5));
        assert_eq!(
            opts(&["-C", "5", "-o", f, "h"]).unwrap().bodies.resume,
            Some(5)
        );
        for bad in [
            &["-C", "4", "-o", f, "h"][..],
            &["-C", "-", "h"],
            &["-C", "x", "h"],
            &["-C", "1", "-r", "1-2", "h"],
            &["-C", "1", "--compressed", "h"],
            &["-r", "2-1", "h"],
        ] {
            assert_eq!(opts(bad).unwrap_err().kind(), ErrorKind::Usage, "{bad:?}");
        }
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
