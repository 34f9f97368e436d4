//! Helpers for the echo tests beyond TCP (UDP, TLS, Unix sockets): other
//! programs as peers (socat, ncat), which must be installed (`.ci/run`
//! installs them; a missing one fails the test, it never skips it), the
//! client run through the binary, and a server started with any flags.
//!
//! Every child is killed on drop and every wait is bounded.
//!
//! A module of the one harness (`tests/support/`).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::net::LIMIT;
use super::run::output;
use super::run::BIN;

/// Fails the test when `tool` is not installed: a peer test must not pass
/// by not running.
pub fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("-h")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{tool} is not installed; this test needs it as a peer: \
         apt-get install -y socat ncat (.ci/run installs them)"
    );
}

/// A child process, killed and reaped on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program ARGS` with no stdin and its output discarded.
pub fn spawn(program: &str, args: &[&str]) -> Proc {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    Proc(child)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_tcp(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(start.elapsed() < LIMIT, "nothing listens on {addr}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a UDP echo server on `addr` answers a datagram.
pub fn wait_udp_echo(addr: SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 16];
    loop {
        let _ = s.send(b"ready?");
        if let Ok(n) = s.recv(&mut buf) {
            assert_eq!(&buf[..n], b"ready?");
            return;
        }
        assert!(start.elapsed() < LIMIT, "no UDP echo from {addr}");
    }
}

/// `rawget echo-client ARGS…` with `stdin`, bounded in time.
pub fn client(args: &[&str], stdin: &[u8]) -> Output {
    output(
        std::process::Command::new(BIN)
            .arg("echo-client")
            .args(args),
        stdin,
    )
}

/// `program ARGS…` with `stdin`, bounded in time.
pub fn run_with_stdin(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    output(std::process::Command::new(program).args(args), stdin)
}

/// The one line main prints for a failure.
pub fn one_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).into_owned();
    assert_eq!(text.lines().count(), 1, "stderr: {text:?}");
    assert!(text.starts_with("rawget: error: "), "stderr: {text:?}");
    text
}

/// The value of `"key":` in a one-line JSON report, as text.
pub fn json_field<'a>(json: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("{key} missing in {json}"))
        + pat.len();
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    &rest[..end]
}

/// A `rawget echo-server ARGS…` started with any flags (no `--listen`
/// added), with its listening line read; killed on drop.
pub struct AnyServer {
    pub proc: Proc,
    /// What follows `listening on `.
    pub listening: String,
    /// Lines of stdout after the listening line.
    pub stdout: mpsc::Receiver<String>,
    pub stderr: tempfile::NamedTempFile,
}

impl AnyServer {
    pub fn start(args: &[&str]) -> AnyServer {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(BIN)
            .arg("echo-server")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let rx = super::daemon::stdout_lines(out);
        let proc = Proc(child);
        let first = rx.recv_timeout(LIMIT).unwrap_or_else(|_| {
            panic!(
                "no listening line; stderr: {}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            )
        });
        let listening = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line is {first:?}"))
            .to_string();
        AnyServer {
            proc,
            listening,
            stdout: rx,
            stderr,
        }
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap()
    }

    /// Signals `sig`, waits; returns whether it exited 0 and the rest of
    /// stdout (the summary).
    pub fn stop(mut self, sig: i32) -> (bool, String) {
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(self.proc.0.id() as i32, sig) }, 0);
        let status = super::run::wait_bounded(&mut self.proc.0).0;
        let mut rest = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            rest.push_str(&line);
            rest.push('\n');
        }
        (status.success(), rest)
    }
}
