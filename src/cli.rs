//! The command line as typed: clap derive structs and nothing else.
//!
//! The doc comments here are the `--help` text. Checking what the flags mean
//! together (conflicts, file contents, defaults that depend on other flags)
//! happens in `options.rs`; this module does no I/O.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    after_help = "Exit codes follow curl's: 3 bad URL, 5 proxy resolve, 6 resolve, 7 connect, 8 malformed response, \
                  18 partial body, 22 --fail, 23 write, 26 read input, 28 timeout, 35 TLS, \
                  47 redirects, 52 empty reply, 56 receive failure, 60 certificate, 77 --cacert file."
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
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a concurrent TCP echo server.
    EchoServer(EchoServerArgs),
    /// Talk to an echo server: interactively, with --message, or --bench.
    EchoClient(EchoClientArgs),
    /// Serve a saved raw response (e.g. from --save-raw) byte for byte to each client.
    Replay(ReplayArgs),
}

/// Flags of the default command, `rawget [OPTIONS] <URL>`.
#[derive(Debug, Args, Default)]
pub struct FetchArgs {
    /// URL to fetch: `host`, `host:port/path?q`, `http://…`, `https://…`
    #[arg(required = true, value_name = "URL")]
    pub url: Option<String>,

    // ---- the request ----
    /// Add, replace (`Name: value`) or remove (`Name:`) a request header; `Name;` sends it empty
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

    // ---- output ----
    /// Write the body to FILE (safely: complete or not at all); `-` is stdout
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub output: Option<PathBuf>,

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

    /// Print the request exactly as it would be sent, connect to nothing
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
    #[arg(long = "json", value_name = "FILE", help_heading = "Debugging")]
    pub json: Option<PathBuf>,

    // ---- network ----
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

    /// Use TLS 1.2 or later (the default)
    #[arg(long = "tlsv1.2", help_heading = "Network")]
    pub tlsv1_2: bool,

    /// Use TLS 1.3 or later
    #[arg(long = "tlsv1.3", help_heading = "Network")]
    pub tlsv1_3: bool,

    /// The highest TLS version to offer: 1.2 or 1.3
    #[arg(long = "tls-max", value_name = "VERSION", help_heading = "Network")]
    pub tls_max: Option<String>,

    // ---- reach: proxies (issue 12) ----
    /// Use this proxy: [SCHEME://][USER:PW@]HOST[:PORT], SCHEME http (default, port 1080), socks4, socks4a, socks5, socks5h; "" for none
    #[arg(
        short = 'x',
        long = "proxy",
        value_name = "URL",
        help_heading = "Proxies"
    )]
    pub proxy: Option<String>,

    /// Credentials for the proxy (Proxy-Authorization: Basic), over the proxy URL's
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

    /// Do not print the proxy's CONNECT reply head (-v still shows it)
    #[arg(long = "suppress-connect-headers", help_heading = "Proxies")]
    pub suppress_connect_headers: bool,
}

/// `rawget echo-server`
#[derive(Debug, Args)]
pub struct EchoServerArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7007")]
    pub listen: String,

    /// Refuse clients beyond N open connections
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Close connections silent for SECS seconds
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,

    /// Log each connection's open and close on stderr
    #[arg(short, long)]
    pub verbose: bool,
}

/// `rawget echo-client`
#[derive(Debug, Args)]
pub struct EchoClientArgs {
    /// Server address
    #[arg(value_name = "ADDR", default_value = "127.0.0.1:7007")]
    pub addr: String,

    /// Send TEXT, print the echo, exit (repeatable)
    #[arg(long, value_name = "TEXT")]
    pub message: Vec<String>,

    /// Load mode: ping-pong on many connections, report rate and latency
    #[arg(long)]
    pub bench: bool,

    /// Bench: number of connections
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
        assert_eq!(f.url.as_deref(), Some("example.com"));
        assert_eq!(f.headers, vec!["A: b", "C:"]);
        assert_eq!(f.method.as_deref(), Some("PUT"));
        assert_eq!(f.data, vec!["x=1"]);
        assert!(f.http10);
        assert_eq!(f.max_time, Some(2.5));
        assert_eq!(f.resolve, vec!["h:80:127.0.0.1"]);
        assert_eq!(f.max_redirs, 30);
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
