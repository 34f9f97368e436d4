//! Shared helpers for the integration tests: run the built binary with a
//! time bound, load fixtures, and start replay servers on 127.0.0.1.
#![allow(dead_code)]

pub mod echo_server;
pub mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

#[allow(unused_imports)]
pub use rawget::replay::{End, Plan, Server};

/// Every run of the binary is bounded: a hang fails the test.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `rawget ARGS` in `dir` with stdin closed.
pub fn rawget_in(dir: &Path, args: &[&str]) -> Run {
    rawget_with(dir, &[], args)
}

/// Runs `rawget ARGS` in `dir` with stdin closed and extra environment
/// variables.
pub fn rawget_with(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Run {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rawget"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .write_stdin(Vec::<u8>::new())
        .timeout(RUN_LIMIT)
        .output()
        .expect("run rawget");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `rawget ARGS` in a scratch directory.
pub fn rawget(args: &[&str]) -> Run {
    rawget_in(&std::env::temp_dir(), args)
}

/// The bytes of `fixtures/NAME`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A server that replays `plan` to every client.
pub fn serve(plan: Plan) -> Server {
    Server::start("127.0.0.1:0", plan, None).expect("start replay server")
}

/// A server that replays fixture `name`.
pub fn serve_fixture(name: &str) -> Server {
    serve(Plan::new(fixture(name)))
}

/// `http://127.0.0.1:PORT/PATH` for a server.
pub fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr())
}

/// The requests a server recorded (waiting briefly for its thread).
pub fn requests(server: &Server, n: usize) -> Vec<String> {
    server
        .wait_requests(n, Duration::from_secs(5))
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

/// The head of a raw response: up to and including the blank line.
pub fn head_of(response: &[u8]) -> &[u8] {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let end = end.or_else(|| {
        response
            .windows(2)
            .position(|w| w == b"\n\n")
            .map(|i| i + 2)
    });
    &response[..end.expect("fixture has a head")]
}

/// The body of a Content-Length fixture: everything after the head.
pub fn body_of(response: &[u8]) -> &[u8] {
    &response[head_of(response).len()..]
}

/// A fresh scratch directory.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Files in `dir` (names), sorted: to prove no temporary file was left.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A chunked 200 response carrying `body` in chunks of the sizes in
/// `sizes`, repeated until the body is used up.
pub fn chunked_response(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut rest = body;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
        rest = tail;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// `len` bytes that differ from their neighbours, so a lost, repeated or
/// reordered piece shows.
pub fn patterned(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect()
}
