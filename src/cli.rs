//! The command line as typed: clap derive structs and nothing else.
//!
//! The doc comments here are the `--help` text. Checking what the flags mean
//! together (conflicts, file contents, defaults that depend on other flags)
//! happens in `options.rs`; this module does no I/O.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Show HTTP exactly as it crosses the wire.
///
/// Fetches URL over HTTP/1.1 (TLS for https), prints the response head
/// exactly as received and writes the body to stdout or `-o FILE`.
#[derive(Debug, Parser)]
#[command(
    name = "rawget",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Exit codes follow curl's: 1 unsupported scheme, 2 usage, 3 bad URL, 5 proxy resolve, \
                  6 resolve, 7 connect, 8 malformed response, 18 partial body, 22 --fail, 23 write, \
                  26 read input, 28 timeout, 33 range not honoured, 35 TLS, 47 redirects, \
                  52 empty reply, 56 receive failure, 58 client certificate, 60 certificate, 61 bad content encoding, \
                  63 --max-filesize exceeded, 77 --cacert file, 97 SOCKS handshake."
)]
pub struct Cli {
    /// A subcommand instead of a fetch.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The fetch (the default command).
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Subcommands besides the default fetch.
// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a concurrent echo server: TCP, UDP, TLS or a Unix socket.
    EchoServer(EchoServerArgs),
    /// Talk to an echo server: interactively, with --message, or --bench.
    EchoClient(EchoClientArgs),
    /// Serve a saved raw response (e.g. from --save-raw) byte for byte to each client.
    Replay(ReplayArgs),
    /// Send hand-built requests byte for byte and read every response (keep-alive, pipelining).
    Send(SendArgs),
}

/// Flags of the default command, `rawget [OPTIONS] <URL>...`.
#[derive(Debug, Args, Default, Clone)]
pub struct FetchArgs {
    /// URL to fetch: `host`, `host:port/path?q`, `http://…`, `https://…`;
    /// several are fetched one after another, each -o/-O paired with one in order
    #[arg(required_unless_present = "generate", value_name = "URL")]
    pub urls: Vec<String>,

    // ---- the request ----
    /// Add, replace (`Name: value`) or remove (`Name:`) a request header; `Name;` sends it
    /// empty; `@FILE` (`@-`: stdin) reads one a line
    #[arg(
        short = 'H',
        long = "header",
        value_name = "HEADER",
        help_heading = "Request"
    )]
    pub headers: Vec<String>,

    /// Request method to use instead of GET/POST/HEAD
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        help_heading = "Request"
    )]
    pub method: Option<String>,

    /// Send HEAD; the response head is the output
    #[arg(short = 'I', long = "head", help_heading = "Request")]
    pub head: bool,

    /// POST DATA (or the contents of @FILE with CR and LF removed; @- is stdin)
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        help_heading = "Request"
    )]
    pub data: Vec<String>,

    /// POST DATA (or @FILE) exactly as given
    #[arg(long = "data-binary", value_name = "DATA", help_heading = "Request")]
    pub data_binary: Vec<String>,

    /// User-Agent header to send
    #[arg(
        short = 'A',
        long = "user-agent",
        value_name = "UA",
        help_heading = "Request"
    )]
    pub user_agent: Option<String>,

    /// Say HTTP/1.0 in the request line
    #[arg(long = "http1.0", help_heading = "Request")]
    pub http10: bool,

    /// POST JSON DATA (or @FILE, @- for stdin, sent exactly) with `Content-Type:
    /// application/json` and `Accept: application/json`; several are joined
    #[arg(long = "json", value_name = "DATA", help_heading = "Request")]
    pub json: Vec<String>,

    /// POST DATA exactly as given (no @FILE meaning)
    #[arg(long = "data-raw", value_name = "DATA", help_heading = "Request")]
    pub data_raw: Vec<String>,

    /// POST DATA URL-encoded: `content`, `=content`, `name=content`,
    /// `@FILE`, `name@FILE` (as curl)
    #[arg(long = "data-urlencode", value_name = "DATA", help_heading = "Request")]
    pub data_urlencode: Vec<String>,

    /// PUT FILE (unless -X), streamed with its Content-Length; `-` sends stdin chunked.
    /// A URL ending in `/` gets the file's name
    #[arg(
        short = 'T',
        long = "upload-file",
        value_name = "FILE",
        help_heading = "Request"
    )]
    pub upload_file: Option<PathBuf>,

    /// POST multipart/form-data: `name=value`, `name=@FILE` (a file part, streamed),
    /// `name=<FILE` (its contents as the value), with `;type=` and `;filename=`
    #[arg(
        short = 'F',
        long = "form",
        value_name = "NAME=CONTENT",
        help_heading = "Request"
    )]
    pub form: Vec<String>,

    /// Like -F, the value taken literally (no @, < or ; meaning)
    #[arg(
        long = "form-string",
        value_name = "NAME=STRING",
        help_heading = "Request"
    )]
    pub form_string: Vec<String>,

    /// Send cookies: `name=value; ...` as given, or read FILE (Netscape format or
    /// Set-Cookie lines) and send the cookies that match each request
    #[arg(
        short = 'b',
        long = "cookie",
        value_name = "DATA|FILE",
        help_heading = "Request"
    )]
    pub cookie: Vec<String>,

    /// Write every cookie to FILE (Netscape format) at the end; turns on the cookie engine
    #[arg(
        short = 'c',
        long = "cookie-jar",
        value_name = "FILE",
        help_heading = "Request"
    )]
    pub cookie_jar: Option<PathBuf>,

    /// With -b FILE: leave the session cookies out
    #[arg(short = 'j', long = "junk-session-cookies", help_heading = "Request")]
    pub junk_session_cookies: bool,

    /// Read options from FILE in curl's config syntax (`-` is stdin), as if typed here
    #[arg(
        short = 'K',
        long = "config",
        value_name = "FILE",
        help_heading = "Request"
    )]
    pub config: Vec<PathBuf>,

    /// The data flags' values in command-line order (set by [`parse_from`];
    /// empty: take them flag by flag).
    #[arg(skip)]
    pub data_order: Vec<(DataFlag, String)>,

    /// Send the -d/--data-* data in the URL's query with GET (HEAD with -I)
    #[arg(short = 'G', long = "get", help_heading = "Request")]
    pub get: bool,

    /// Referer header to send
    #[arg(
        short = 'e',
        long = "referer",
        value_name = "URL",
        help_heading = "Request"
    )]
    pub referer: Option<String>,

    // ---- output ----
    /// Write the body to FILE (safely: complete or not at all); `-` is stdout;
    /// one for each URL, in order
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub outputs: Vec<PathBuf>,

    /// Print the response head on stdout before the body
    #[arg(short = 'i', long = "include", help_heading = "Output")]
    pub include: bool,

    /// Do not print the response head or progress
    #[arg(short = 's', long = "silent", help_heading = "Output")]
    pub silent: bool,

    /// Also write the response head to FILE (`-` is stdout)
    #[arg(
        short = 'D',
        long = "dump-header",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub dump_header: Option<PathBuf>,

    /// Write the body as received, chunked framing kept
    #[arg(long = "raw", help_heading = "Output")]
    pub raw: bool,

    /// Write every byte received, exactly, to FILE
    #[arg(long = "save-raw", value_name = "FILE", help_heading = "Output")]
    pub save_raw: Option<PathBuf>,

    /// On a failed fetch, keep what arrived in the -o FILE
    #[arg(long = "keep-partial", help_heading = "Output")]
    pub keep_partial: bool,

    /// Show connection steps, the request as sent and the response head on stderr
    #[arg(short = 'v', long = "verbose", help_heading = "Output")]
    pub verbose: bool,

    /// Print dns, connect, tls, first byte and total times on stderr
    #[arg(long = "timing", help_heading = "Output")]
    pub timing: bool,

    /// Print the request exactly as it would be sent (through a proxy: as the proxy gets it), connect to nothing
    #[arg(long = "dry-run", help_heading = "Debugging")]
    pub dry_run: bool,

    /// Print each chunk's offset, size and extensions, and the trailers, on stderr
    #[arg(long = "chunks", help_heading = "Debugging")]
    pub chunks: bool,

    /// Explain how the body length was decided and every deviation from the RFCs, on stderr
    #[arg(long = "explain", help_heading = "Debugging")]
    pub explain: bool,

    /// Fail (exit 8) on any deviation from RFC 9112/9110 that --explain would name
    #[arg(long = "strict", help_heading = "Debugging")]
    pub strict: bool,

    /// Write a JSON summary of the exchange to FILE (`-` for stdout when the body goes to a file)
    #[arg(long = "report", value_name = "FILE", help_heading = "Debugging")]
    pub report: Option<PathBuf>,

    // ---- network ----
    /// Time limits, addresses and certificate checks.
    #[command(flatten)]
    pub net: NetArgs,

    /// Follow redirects (301, 302, 303, 307, 308)
    #[arg(short = 'L', long = "location", help_heading = "Network")]
    pub location: bool,

    /// Most redirects to follow with -L
    #[arg(
        long = "max-redirs",
        value_name = "N",
        default_value_t = 30,
        help_heading = "Network"
    )]
    pub max_redirs: u32,

    /// Exit 22 and write nothing when the status is 400 or more
    #[arg(short = 'f', long = "fail", help_heading = "Network")]
    pub fail: bool,

    // ---- bodies: codings, size limits ----
    /// Ask for a compressed body (gzip, deflate, br, zstd) and decode it as it arrives
    #[arg(long = "compressed", help_heading = "Bodies")]
    pub compressed: bool,

    /// Ask for a transfer-coded body (TE: gzip) and decode it
    #[arg(long = "tr-encoding", help_heading = "Bodies")]
    pub tr_encoding: bool,

    /// Exit 63, writing nothing, when the body is larger than BYTES (suffix k, M or G)
    #[arg(long = "max-filesize", value_name = "BYTES", help_heading = "Bodies")]
    pub max_filesize: Option<String>,

    // ---- bodies: ranges and resume ----
    /// Ask for only these bytes: N-M, N-, -N (the last N), or several joined with commas
    #[arg(
        short = 'r',
        long = "range",
        value_name = "RANGE",
        allow_hyphen_values = true,
        help_heading = "Bodies"
    )]
    pub range: Option<String>,

    /// Resume at byte OFFSET, or `-` at the -o FILE's length: a 206 from
    /// exactly there is appended, anything else is exit 33 with FILE
    /// untouched. With --keep-partial, an interrupted download keeps what
    /// arrived, so `-C - --keep-partial` can be run again until complete
    #[arg(
        short = 'C',
        long = "continue-at",
        value_name = "OFFSET",
        allow_hyphen_values = true,
        help_heading = "Bodies"
    )]
    pub continue_at: Option<String>,

    // ---- retries ----
    /// Retry up to N times after a timeout or an HTTP 408, 429, 500, 502, 503 or 504
    #[arg(
        long = "retry",
        value_name = "N",
        default_value_t = 0,
        help_heading = "Retries"
    )]
    pub retry: u32,

    /// Wait SECS between retries (default: Retry-After, else 1 s doubling each time)
    #[arg(long = "retry-delay", value_name = "SECS", help_heading = "Retries")]
    pub retry_delay: Option<f64>,

    /// Retry only within SECS of the first attempt (0: no bound)
    #[arg(long = "retry-max-time", value_name = "SECS", help_heading = "Retries")]
    pub retry_max_time: Option<f64>,

    /// With --retry: retry after any failure
    #[arg(long = "retry-all-errors", help_heading = "Retries")]
    pub retry_all_errors: bool,

    /// With --retry: retry when the connection is refused too
    #[arg(long = "retry-connrefused", help_heading = "Retries")]
    pub retry_connrefused: bool,

    // ---- naming outputs ----
    /// Write the body to a file named as the URL's last path segment (one
    /// -O for each URL without -o)
    #[arg(
        short = 'O',
        long = "remote-name",
        action = clap::ArgAction::Count,
        help_heading = "Output names"
    )]
    pub remote_name: u8,

    /// -O for every URL
    #[arg(long = "remote-name-all", help_heading = "Output names")]
    pub remote_name_all: bool,

    /// With -O: name the file as Content-Disposition says (directories
    /// stripped), never overwriting an existing file
    #[arg(
        short = 'J',
        long = "remote-header-name",
        help_heading = "Output names"
    )]
    pub remote_header_name: bool,

    /// Put -o and -O files in DIR
    #[arg(long = "output-dir", value_name = "DIR", help_heading = "Output names")]
    pub output_dir: Option<PathBuf>,

    /// Create the directories -o, -O and --output-dir need
    #[arg(long = "create-dirs", help_heading = "Output names")]
    pub create_dirs: bool,

    // ---- several URLs ----
    /// With several URLs: stop at the first that fails
    #[arg(long = "fail-early", help_heading = "Output names")]
    pub fail_early: bool,

    // ---- shell integration ----
    /// Colour heads and -v prefixes: `auto` on a terminal unless NO_COLOR is set, `always`, `never`
    #[arg(
        long = "color",
        value_name = "WHEN",
        value_enum,
        default_value_t = ColorChoice::Auto,
        help_heading = "Output"
    )]
    pub color: ColorChoice,

    /// Write every byte sent and received to FILE in curl's layout (offsets, hex, text), with each step as an info line; `-` is stderr
    #[arg(
        long = "trace",
        value_name = "FILE",
        help_heading = "Debugging",
        conflicts_with = "trace_ascii"
    )]
    pub trace: Option<PathBuf>,

    /// As --trace, text only (a new line at each CRLF)
    #[arg(long = "trace-ascii", value_name = "FILE", help_heading = "Debugging")]
    pub trace_ascii: Option<PathBuf>,

    /// Stamp each --trace block with the time of day (HH:MM:SS.uuuuuu)
    #[arg(long = "trace-time", help_heading = "Debugging")]
    pub trace_time: bool,

    /// After the transfer (also when it fails), write FORMAT as curl's -w does: %{http_code}, %{time_total}, %header{NAME}, %{json}, %{stderr}, \n ...; @FILE reads FORMAT from FILE
    #[arg(
        short = 'w',
        long = "write-out",
        value_name = "FORMAT",
        help_heading = "Shell"
    )]
    pub write_out: Option<String>,

    /// Print the man page (`man`) or a completion script (`complete-bash`, `complete-zsh`, `complete-fish`, `complete-powershell`) on stdout, and exit
    #[arg(
        long = "generate",
        value_name = "KIND",
        value_enum,
        help_heading = "Shell"
    )]
    pub generate: Option<GenerateKind>,

    // ---- the request-target (issue 13) ----
    /// Send TARGET as the request-target instead of the URL's path and query
    /// (`*` for OPTIONS *, an absolute URI for a proxy); no whitespace or control bytes
    #[arg(
        long = "request-target",
        value_name = "TARGET",
        help_heading = "Request"
    )]
    pub request_target: Option<String>,

    /// Do not print the proxy's CONNECT reply head (-v still shows it)
    #[arg(long = "suppress-connect-headers", help_heading = "Proxies")]
    pub suppress_connect_headers: bool,

    // ---- reach: credentials (issue 12) ----
    /// Basic auth as USER:PASSWORD, over the URL's; without :PASSWORD it is asked for on the terminal
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER[:PASSWORD]",
        help_heading = "Credentials"
    )]
    pub user: Option<String>,

    /// Read the login and password for the host from ~/.netrc (or $NETRC); -u and the URL's win
    #[arg(short = 'n', long = "netrc", help_heading = "Credentials")]
    pub netrc: bool,

    /// Read them from FILE instead of ~/.netrc
    #[arg(long = "netrc-file", value_name = "FILE", help_heading = "Credentials")]
    pub netrc_file: Option<PathBuf>,

    /// As --netrc, but a missing file is no error
    #[arg(long = "netrc-optional", help_heading = "Credentials")]
    pub netrc_optional: bool,

    /// Send -u's (and the URL's) credentials to every host a redirect goes to, not only the first
    #[arg(long = "location-trusted", help_heading = "Credentials")]
    pub location_trusted: bool,
}

impl FetchArgs {
    /// One set of arguments per URL, in order, each with its own output:
    /// the `-o` values go to the URLs in order, then each `-O` to the next
    /// URL without one (`--remote-name-all`: every such URL).
    pub fn per_url(&self) -> Vec<FetchArgs> {
        let mut outputs = self.outputs.iter();
        let mut remote = self.remote_name;
        self.urls
            .iter()
            .map(|url| {
                let mut one = self.clone();
                one.urls = vec![url.clone()];
                one.outputs = outputs.next().cloned().into_iter().collect();
                one.remote_name = 0;
                if one.outputs.is_empty() && remote > 0 {
                    remote -= 1;
                    one.remote_name = 1;
                }
                one
            })
            .collect()
    }
}

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    #[default]
    Auto,
    /// Always, on a pipe too.
    Always,
    /// Never.
    Never,
}

/// What `--generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenerateKind {
    /// The man page, in roff (`man -l -` reads it).
    Man,
    /// Completions for bash.
    CompleteBash,
    /// Completions for zsh.
    CompleteZsh,
    /// Completions for fish.
    CompleteFish,
    /// Completions for PowerShell.
    CompletePowershell,
}

/// Which flag gave a data piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFlag {
    /// `--json`
    Json,
    /// `-d, --data`
    Data,
    /// `--data-raw`
    Raw,
    /// `--data-binary`
    Binary,
    /// `--data-urlencode`
    UrlEncode,
}

impl FetchArgs {
    /// Every data piece with its flag, in command-line order when known
    /// (curl joins them in that order), else flag by flag.
    pub fn data_pieces(&self) -> Vec<(DataFlag, String)> {
        if !self.data_order.is_empty() {
            return self.data_order.clone();
        }
        let tag = |flag, values: &[String]| {
            values
                .iter()
                .map(move |v| (flag, v.clone()))
                .collect::<Vec<_>>()
        };
        [
            tag(DataFlag::Json, &self.json),
            tag(DataFlag::Data, &self.data),
            tag(DataFlag::Raw, &self.data_raw),
            tag(DataFlag::Binary, &self.data_binary),
            tag(DataFlag::UrlEncode, &self.data_urlencode),
        ]
        .concat()
    }
}

/// Parses `args` as [`Cli::try_parse_from`] does, and records the order
/// of the data flags across each other, which the derived struct loses.
pub fn parse_from(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let mut order = Vec::new();
    for (id, flag) in [
        ("json", DataFlag::Json),
        ("data", DataFlag::Data),
        ("data_raw", DataFlag::Raw),
        ("data_binary", DataFlag::Binary),
        ("data_urlencode", DataFlag::UrlEncode),
    ] {
        if let (Some(at), Some(values)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            order.extend(at.zip(values).map(|(i, v)| (i, flag, v.clone())));
        }
    }
    order.sort_by_key(|(i, _, _)| *i);
    cli.fetch.data_order = order.into_iter().map(|(_, f, v)| (f, v)).collect();
    Ok(cli)
}

/// `rawget echo-server`
#[derive(Debug, Args)]
pub struct EchoServerArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7007")]
    pub listen: String,

    /// Echo UDP datagrams instead of a TCP stream
    #[arg(long, conflicts_with_all = ["tls", "unix", "max_connections", "idle_timeout", "max_lifetime"])]
    pub udp: bool,

    /// Echo inside TLS (needs --cert and --key)
    #[arg(long, requires_all = ["cert", "key"], conflicts_with = "unix")]
    pub tls: bool,

    /// TLS: the server's certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert: Option<PathBuf>,

    /// TLS: the server's private key (PEM, PKCS#8)
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub key: Option<PathBuf>,

    /// Listen on a Unix domain socket at PATH instead of --listen
    #[arg(long, value_name = "PATH", conflicts_with = "listen")]
    pub unix: Option<PathBuf>,

    /// Refuse clients beyond N open connections
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Close connections silent for SECS seconds
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,

    /// Close every connection SECS seconds after it opened, whatever it sends
    #[arg(long, value_name = "SECS")]
    pub max_lifetime: Option<f64>,

    /// Log each connection's open and close (each UDP peer's first datagram) on stderr
    #[arg(short, long)]
    pub verbose: bool,
}

/// `rawget echo-client`
#[derive(Debug, Args)]
pub struct EchoClientArgs {
    /// Server address
    #[arg(
        value_name = "ADDR",
        default_value = "127.0.0.1:7007",
        conflicts_with = "unix"
    )]
    pub addr: String,

    /// Talk UDP: one datagram per line or message
    #[arg(long, conflicts_with_all = ["tls", "unix", "hold"])]
    pub udp: bool,

    /// Talk TLS to the server (SNI and verification as for https)
    #[arg(long, conflicts_with = "unix")]
    pub tls: bool,

    /// TLS: do not verify the server's certificate
    #[arg(short = 'k', long, requires = "tls")]
    pub insecure: bool,

    /// TLS: trust the PEM certificates in FILE (instead of the system's)
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cacert: Option<PathBuf>,

    /// TLS: the name to send (SNI) and verify, instead of ADDR's host
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub servername: Option<String>,

    /// Connect to the Unix domain socket at PATH instead of ADDR
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

    /// Seconds to wait for each echo (default 1 with --udp, 30 otherwise)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,

    /// Send TEXT, print the echo, exit (repeatable)
    #[arg(long, value_name = "TEXT")]
    pub message: Vec<String>,

    /// Load mode: ping-pong on many connections, report rate and latency
    #[arg(long)]
    pub bench: bool,

    /// Bench: number of connections (with --udp: peers, each its own socket)
    #[arg(long, value_name = "N", default_value_t = 1, requires = "bench")]
    pub connections: usize,

    /// Bench: messages per connection
    #[arg(
        long,
        value_name = "M",
        requires = "bench",
        conflicts_with = "duration"
    )]
    pub messages: Option<u64>,

    /// Bench: run for SECS seconds
    #[arg(long, value_name = "SECS", requires = "bench")]
    pub duration: Option<f64>,

    /// Bench: message size in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 64, requires = "bench")]
    pub size: usize,

    /// Bench: print the report as JSON
    #[arg(long, requires = "bench")]
    pub json: bool,

    /// Bench: after the report, keep every connection open SECS seconds
    /// (to measure a server holding many connections)
    #[arg(long, value_name = "SECS", requires = "bench")]
    pub hold: Option<f64>,

    /// Bench, UDP: send N datagrams per second per peer, not waiting for echoes
    #[arg(long, value_name = "N", requires_all = ["bench", "udp"])]
    pub rate: Option<f64>,

    /// Bench, TLS: measure handshakes per second (connect, handshake, close)
    #[arg(long, requires_all = ["bench", "tls"])]
    pub handshakes: bool,
}

/// `rawget replay`
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// File holding the raw response to send, exactly as it should cross the wire
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Address to listen on; port 0 picks a free port (printed as `listening on ADDR:PORT`)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,

    /// Write the response in pieces of N bytes, each its own write (TCP_NODELAY)
    #[arg(long, value_name = "N")]
    pub piece: Option<usize>,

    /// Sleep MS milliseconds before the first piece and between pieces
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,

    /// Send only the first N bytes of FILE
    #[arg(long, value_name = "N")]
    pub cut: Option<usize>,

    /// End each connection with a reset (RST) instead of a close (FIN)
    #[arg(long, conflicts_with = "hang")]
    pub reset: bool,

    /// Keep each connection open after sending, until the client closes (at most 30 s)
    #[arg(long)]
    pub hang: bool,

    /// Reply at once on accept, without reading the request first
    #[arg(long)]
    pub no_read: bool,

    /// Serve over TLS with the certificate in FILE (PEM: the server's
    /// certificate first, then any chain certificates to send after it)
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The private key for --cert (PEM, PKCS#8: BEGIN PRIVATE KEY)
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// With --cert: end each connection with a bare TCP close, without the
    /// TLS close_notify (a truncation, as an attacker makes it)
    #[arg(long, requires = "cert", conflicts_with_all = ["reset", "hang"])]
    pub no_close_notify: bool,

    /// Exit after serving N clients (default: run until killed)
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,

    /// Log each client (peer, TLS and SNI, request line, bytes sent, how it
    /// ended) on stderr
    #[arg(short, long)]
    pub verbose: bool,
}

/// `rawget send URL [FILE]...`
#[derive(Debug, Args, Default)]
#[command(
    after_help = "Exit codes: 0 every request framed was answered once, in order; 8 a reply that \
                  cannot be read, or a desync (more responses than requests, a response with \
                  nothing asked, stray bytes after a complete response); 18 the server closed \
                  before answering every request; 52 it closed without replying; 56 reset; \
                  and the fetch's codes for connecting (6, 7, 28, 35, 60), input (26) and output (23).\n\n\
                  Through an HTTP proxy (-x, $http_proxy...) the bytes always go through a CONNECT \
                  tunnel, unchanged; for a proxy's absolute form, send to the proxy's own URL with \
                  -x \"\" and write `GET http://host/ HTTP/1.1` yourself."
)]
pub struct SendArgs {
    /// Where to send: the URL's scheme, host and port (https is TLS); its path is not used
    #[arg(value_name = "URL")]
    pub url: String,

    /// Files holding the requests, sent exactly as stored, one after another
    /// (none, or `-`: stdin)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write every request without waiting for any response (default: each
    /// after the previous response is complete)
    #[arg(long, help_heading = "Sending")]
    pub pipeline: bool,

    /// Turn each bare LF into CRLF before sending (requests written in an editor)
    #[arg(long, help_heading = "Sending")]
    pub crlf: bool,

    /// Write in pieces of N bytes (each its own write)
    #[arg(long, value_name = "N", help_heading = "Sending")]
    pub split: Option<usize>,

    /// With --split: sleep MS milliseconds between pieces
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        requires = "split",
        help_heading = "Sending"
    )]
    pub delay: u64,

    /// After the last response, wait up to MS milliseconds for stray bytes or the close
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 300,
        help_heading = "Sending"
    )]
    pub wait: u64,

    /// Print how the requests are framed (RFC 9112 section 6) and every ambiguity, on stderr
    #[arg(long, help_heading = "Debugging")]
    pub explain: bool,

    /// Print the framing analysis and the bytes that would be sent; connect to nothing
    #[arg(long = "dry-run", help_heading = "Debugging")]
    pub dry_run: bool,

    /// Write a JSON report of the whole exchange to FILE (`-` is stdout, with -s)
    #[arg(long = "report", value_name = "FILE", help_heading = "Debugging")]
    pub report: Option<PathBuf>,

    /// Save each response's body as DIR/response-N.body (N from 1)
    #[arg(long = "output-dir", value_name = "DIR", help_heading = "Output")]
    pub output_dir: Option<PathBuf>,

    /// Write every byte received, exactly, to FILE
    #[arg(long = "save-raw", value_name = "FILE", help_heading = "Output")]
    pub save_raw: Option<PathBuf>,

    /// Print neither the heads nor the verdict (the exit code still says it)
    #[arg(short = 's', long = "silent", help_heading = "Output")]
    pub silent: bool,

    /// Show connection steps and each request as written on stderr
    #[arg(short = 'v', long = "verbose", help_heading = "Output")]
    pub verbose: bool,

    /// Time limits, addresses and certificate checks, as for the fetch.
    #[command(flatten)]
    pub net: NetArgs,
}

/// The network flags the fetch and `rawget send` share, defined once.
#[derive(Debug, Clone, Default, Args)]
pub struct NetArgs {
    /// Seconds allowed for connecting to each address
    #[arg(
        long = "connect-timeout",
        value_name = "SECS",
        help_heading = "Network"
    )]
    pub connect_timeout: Option<f64>,

    /// Seconds allowed for the whole transfer
    #[arg(
        short = 'm',
        long = "max-time",
        value_name = "SECS",
        help_heading = "Network"
    )]
    pub max_time: Option<f64>,

    /// Use ADDR (or several, comma-separated) for HOST:PORT instead of resolving it; `*` as HOST matches any (repeatable)
    #[arg(
        long = "resolve",
        value_name = "HOST:PORT:ADDR[,ADDR]...",
        help_heading = "Network"
    )]
    pub resolve: Vec<String>,

    /// Do not verify the server's certificate
    #[arg(short = 'k', long = "insecure", help_heading = "Network")]
    pub insecure: bool,

    /// Trust the PEM certificates in FILE
    #[arg(long = "cacert", value_name = "FILE", help_heading = "Network")]
    pub cacert: Option<PathBuf>,

    // ---- reach: address families and racing (issue 12) ----
    /// Use only IPv4 addresses
    #[arg(
        short = '4',
        long = "ipv4",
        conflicts_with = "ipv6",
        help_heading = "Network"
    )]
    pub ipv4: bool,

    /// Use only IPv6 addresses
    #[arg(short = '6', long = "ipv6", help_heading = "Network")]
    pub ipv6: bool,

    /// Milliseconds an attempt runs alone before the next address is raced beside it (RFC 8305; default 200)
    #[arg(
        long = "happy-eyeballs-timeout-ms",
        value_name = "MS",
        help_heading = "Network"
    )]
    pub happy_eyeballs_timeout_ms: Option<u64>,

    /// Connect to HOST2:PORT2 for requests to HOST1:PORT1 (empty parts match any / keep the URL's; repeatable)
    #[arg(
        long = "connect-to",
        value_name = "HOST1:PORT1:HOST2:PORT2",
        help_heading = "Network"
    )]
    pub connect_to: Vec<String>,

    // ---- reach: proxies (issue 12) ----
    /// Use this proxy: [SCHEME://][USER:PW@]HOST[:PORT], SCHEME http (default, port 1080), https (TLS to the proxy, port 443), socks4, socks4a, socks5, socks5h (4a, 5h: the proxy resolves); "" for none
    #[arg(
        short = 'x',
        long = "proxy",
        value_name = "URL",
        help_heading = "Proxies"
    )]
    pub proxy: Option<String>,

    /// Credentials for the proxy (Proxy-Authorization: Basic; SOCKS5 username/password), over the proxy URL's
    #[arg(
        short = 'U',
        long = "proxy-user",
        value_name = "USER:PASSWORD",
        help_heading = "Proxies"
    )]
    pub proxy_user: Option<String>,

    /// Tunnel through the HTTP proxy with CONNECT for http URLs too
    #[arg(short = 'p', long = "proxytunnel", help_heading = "Proxies")]
    pub proxytunnel: bool,

    /// Hosts that go direct (comma-separated: names with their subdomains, IPs, CIDR ranges, * for all), over $no_proxy
    #[arg(long = "noproxy", value_name = "LIST", help_heading = "Proxies")]
    pub noproxy: Option<String>,

    /// Trust the PEM certificates in FILE for an https:// proxy's certificate
    #[arg(long = "proxy-cacert", value_name = "FILE", help_heading = "Proxies")]
    pub proxy_cacert: Option<PathBuf>,

    /// Do not verify an https:// proxy's certificate
    #[arg(long = "proxy-insecure", help_heading = "Proxies")]
    pub proxy_insecure: bool,

    // ---- reach: Unix sockets (issue 12) ----
    /// Connect to this Unix socket instead of the URL's host (the URL still gives Host, the target and TLS; no proxy is used)
    #[arg(
        long = "unix-socket",
        value_name = "PATH",
        conflicts_with = "abstract_unix_socket",
        help_heading = "Network"
    )]
    pub unix_socket: Option<PathBuf>,

    /// As --unix-socket, to NAME in Linux's abstract socket namespace
    #[arg(
        long = "abstract-unix-socket",
        value_name = "NAME",
        help_heading = "Network"
    )]
    pub abstract_unix_socket: Option<String>,

    /// Use TLS 1.2 or later (the default)
    #[arg(long = "tlsv1.2", help_heading = "Network")]
    pub tlsv1_2: bool,

    /// Use TLS 1.3 or later
    #[arg(long = "tlsv1.3", help_heading = "Network")]
    pub tlsv1_3: bool,

    /// The highest TLS version to offer: 1.2 or 1.3
    #[arg(long = "tls-max", value_name = "VERSION", help_heading = "Network")]
    pub tls_max: Option<String>,

    // ---- reach: client certificates (issue 12) ----
    /// Client certificate for TLS: FILE[:PASSWORD] (`\:` is a colon in FILE); the key too unless --key
    #[arg(
        short = 'E',
        long = "cert",
        value_name = "FILE[:PASSWORD]",
        help_heading = "Network"
    )]
    pub cert: Option<String>,

    /// The client certificate's type: PEM (default), DER or P12 (default for .p12/.pfx files)
    #[arg(long = "cert-type", value_name = "TYPE", help_heading = "Network")]
    pub cert_type: Option<String>,

    /// The client certificate's private key, when not in the --cert file
    #[arg(long = "key", value_name = "FILE", help_heading = "Network")]
    pub key: Option<PathBuf>,

    /// The private key's type: PEM (default) or DER
    #[arg(long = "key-type", value_name = "TYPE", help_heading = "Network")]
    pub key_type: Option<String>,

    /// Passphrase of the private key or the P12 file (without it, an
    /// encrypted PEM key's is asked for on the terminal)
    #[arg(long = "pass", value_name = "PHRASE", help_heading = "Network")]
    pub pass: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rawget").chain(args.iter().copied()))
    }

    #[test]
    fn fetch_flags_parse() {
        let cli = parse(&[
            "-H",
            "A: b",
            "-H",
            "C:",
            "-X",
            "PUT",
            "-d",
            "x=1",
            "--http1.0",
            "-o",
            "f",
            "-m",
            "2.5",
            "--resolve",
            "h:80:127.0.0.1",
            "example.com",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        let f = cli.fetch;
        assert_eq!(f.urls, vec!["example.com"]);
        assert_eq!(f.headers, vec!["A: b", "C:"]);
        assert_eq!(f.method.as_deref(), Some("PUT"));
        assert_eq!(f.data, vec!["x=1"]);
        assert!(f.http10);
        assert_eq!(f.net.max_time, Some(2.5));
        assert_eq!(f.net.resolve, vec!["h:80:127.0.0.1"]);
        assert_eq!(f.max_redirs, 30);
    }

    #[test]
    fn data_pieces_keep_the_command_line_order() {
        let args = [
            "rawget",
            "-d",
            "a",
            "--data-binary",
            "b",
            "--json",
            "c",
            "-d",
            "d",
            "h",
        ];
        let cli = parse_from(args.iter().map(Into::into).collect()).unwrap();
        let order: Vec<_> = cli.fetch.data_pieces();
        assert_eq!(
            order,
            [
                (DataFlag::Data, "a".to_owned()),
                (DataFlag::Binary, "b".to_owned()),
                (DataFlag::Json, "c".to_owned()),
                (DataFlag::Data, "d".to_owned()),
            ]
        );
    }

    #[test]
    fn url_is_required_without_subcommand() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn unknown_flag_is_usage_error() {
        assert_eq!(parse(&["--nope", "x"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn echo_subcommands_parse() {
        let cli = parse(&["echo-server", "--listen", "127.0.0.1:0", "-v"]).unwrap();
        match cli.command {
            Some(Command::EchoServer(a)) => {
                assert_eq!(a.listen, "127.0.0.1:0");
                assert!(a.verbose);
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = parse(&[
            "echo-client",
            "--bench",
            "--connections",
            "3",
            "--messages",
            "9",
        ])
        .unwrap();
        match cli.command {
            Some(Command::EchoClient(a)) => {
                assert_eq!(a.addr, "127.0.0.1:7007");
                assert_eq!((a.connections, a.messages), (3, Some(9)));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
