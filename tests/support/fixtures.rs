//! The files under `fixtures/`, the shape of a raw response, generated
//! bodies, the request rawget sends by default, and scratch directories.

use std::path::{Path, PathBuf};

/// rawget's default `User-Agent`.
pub const UA: &str = concat!("rawget/", env!("CARGO_PKG_VERSION"));

/// The request rawget sends by default for `path` on `host` (`Host:` as
/// given: with the port when it is not the scheme's default).
pub fn default_request(path: &str, host: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {UA}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
}

/// `fixtures/`.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The bytes of `fixtures/NAME`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// `fixtures/tls/NAME` as a string, for command lines (`--cacert`).
pub fn tls_fixture(name: &str) -> String {
    fixture_dir()
        .join("tls")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Splits one response off the front: (head, rest). The head ends at the
/// first empty line, CRLF or bare LF.
pub fn split_head(response: &[u8]) -> (&[u8], &[u8]) {
    let crlf = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = response
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).expect("the response has a head"),
    };
    response.split_at(end)
}

/// The head of a raw response: up to and including the blank line.
pub fn head_of(response: &[u8]) -> &[u8] {
    split_head(response).0
}

/// The body of a Content-Length response: everything after the head.
pub fn body_of(response: &[u8]) -> &[u8] {
    split_head(response).1
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

/// A fresh scratch directory.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// What an existing output file holds before a fetch that must not change it.
pub const PRECIOUS: &[u8] = b"the file as it was before the fetch\n";

/// A fresh scratch directory holding an existing file `name` ([`PRECIOUS`]),
/// for a fetch with `-o NAME` that must leave it as it was.
pub fn scratch_with(name: &str) -> tempfile::TempDir {
    let dir = scratch();
    std::fs::write(dir.path().join(name), PRECIOUS).expect("write the old file");
    dir
}

/// Asserts `dir` holds only `name`, still [`PRECIOUS`]: the fetch changed
/// nothing and left no temporary file beside it. `what` names the case.
#[track_caller]
pub fn assert_untouched(dir: &Path, name: &str, what: &str) {
    let now = std::fs::read(dir.join(name)).expect("the old file");
    assert!(now == PRECIOUS, "{what}: the existing file was changed");
    assert_eq!(
        listing(dir),
        vec![name],
        "{what}: temporary file left behind"
    );
}

/// The length of the temporary file (`*.part`) a fetch to `-o` is
/// writing in `dir`, if there is one: what has reached the file so far.
pub fn part_len(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .and_then(|e| e.metadata().ok())
        .map(|m| m.len())
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
