//! Bodies as real servers send them (issue 14): content codings against
//! nginx (`gzip on`, `gzip_static`) and bodies made by the `gzip`,
//! `brotli` and `zstd` tools at test time, transfer codings, a corrupt and
//! a truncated stream (exit 61), a gzip bomb (flat memory), and
//! `--max-filesize` (exit 63).

pub(crate) mod nginx;

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;
use nginx::Nginx;

/// Text that compresses as pages do (a few to one), `len` bytes.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        // A little variety, so the codings have work to do.
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(
            format!("<p>line {} of the page, {:x}</p>\n", out.len(), i >> 40).as_bytes(),
        );
    }
    out.truncate(len);
    out
}

/// `input` through the Debian tool `cmd ARGS` (gzip, brotli, zstd).
fn tool(cmd: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {cmd} ({e}): apt-get install {cmd} (as .ci/run does)")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} {args:?} failed");
    out.stdout
}

fn gzip(input: &[u8]) -> Vec<u8> {
    tool("gzip", &["-c", "-n"], input)
}

/// A response with `fields` (CRLF-terminated lines) and `body`, with its
/// Content-Length.
fn response(fields: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\n{fields}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// nginx compressing on the fly (`gzip on`: chunked, no Content-Length)
/// and serving precompressed files (`gzip_static`: Content-Length).
fn nginx_gzip(files: &[(&str, &[u8])]) -> Nginx {
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    Nginx::start(
        "gzip on; gzip_types *; gzip_min_length 0; gzip_static on;",
        move |root| {
            for (name, body) in &files {
                std::fs::write(root.join(name), body).unwrap();
            }
        },
    )
}

// ---------- --compressed against nginx ----------

#[test]
fn compressed_decodes_nginx_gzip_on_the_fly() {
    let page = text(300_000);
    let nginx = nginx_gzip(&[("page.html", &page)]);
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["--compressed", "-o", "page.html", &nginx.url("/page.html")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let head = run.stdout_str();
    assert!(head.contains("Content-Encoding: gzip\r\n"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    assert_eq!(std::fs::read(dir.path().join("page.html")).unwrap(), page);
    assert_eq!(listing(dir.path()), vec!["page.html"]);
}

#[test]
fn without_compressed_nginx_sends_the_bytes_as_they_are() {
    let page = text(50_000);
    let nginx = nginx_gzip(&[("page.html", &page)]);
    let run = rawget(&["-s", &nginx.url("/page.html")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, page, "no Accept-Encoding, no coding");
}

#[test]
fn compressed_decodes_gzip_static_and_explain_gives_the_chain() {
    let page = text(200_000);
    let gz = gzip(&page);
    let nginx = nginx_gzip(&[("doc.txt", &page), ("doc.txt.gz", &gz)]);
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "--compressed",
            "--explain",
            "--report",
            "report.json",
            "-o",
            "doc.txt",
            &nginx.url("/doc.txt"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .stdout_str()
        .contains(&format!("Content-Length: {}\r\n", gz.len())));
    assert_eq!(std::fs::read(dir.path().join("doc.txt")).unwrap(), page);
    let line = format!(
        "explain: coding: gzip: {} bytes on the wire, {} decoded\n",
        gz.len(),
        page.len()
    );
    assert!(run.stderr.contains(&line), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "explain: verdict: complete, {} body bytes decoded from {} of {}\n",
            page.len(),
            gz.len(),
            gz.len()
        )),
        "{}",
        run.stderr
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let hop = &json["hops"][0];
    assert_eq!(hop["coding"], "gzip");
    assert_eq!(hop["wire_bytes"], gz.len() as u64);
    assert_eq!(hop["body_bytes"], page.len() as u64);
}

#[test]
fn raw_keeps_the_encoded_bytes() {
    let page = text(100_000);
    let gz = gzip(&page);
    let nginx = nginx_gzip(&[("doc.txt", &page), ("doc.txt.gz", &gz)]);
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "--compressed",
            "--raw",
            "-o",
            "doc.gz",
            &nginx.url("/doc.txt"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("doc.gz")).unwrap(), gz);
}

// ---------- br, zstd, chains, made by the tools ----------

#[test]
fn compressed_decodes_br_zstd_and_x_gzip_and_asks_for_them() {
    let page = text(400_000);
    let cases = [
        ("br", tool("brotli", &["-c"], &page)),
        ("zstd", tool("zstd", &["-q", "-c"], &page)),
        ("x-gzip", gzip(&page)),
    ];
    for (coding, body) in cases {
        let server = serve(Plan::new(response(
            &format!("Content-Encoding: {coding}\r\n"),
            &body,
        )));
        let run = rawget(&["-s", "--compressed", &server.url("/")]);
        assert_eq!(run.code, 0, "{coding}: {}", run.stderr);
        assert!(run.stdout == page, "{coding}: decoded body differs");
        let request = &server.wait_requests(1)[0];
        assert!(
            request.contains("\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"),
            "{request}"
        );
    }
}

#[test]
fn several_codings_are_undone_in_reverse_header_order() {
    let page = text(150_000);
    // Content-Encoding: zstd, br: zstd was applied first, then br.
    let body = tool("brotli", &["-c"], &tool("zstd", &["-q", "-c"], &page));
    let server = serve(Plan::new(response("Content-Encoding: zstd, br\r\n", &body)).piece(1000));
    let run = rawget(&["-s", "--compressed", "--explain", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == page, "decoded body differs");
    assert!(
        run.stderr.contains(&format!(
            "explain: coding: zstd, br: {} bytes on the wire, {} decoded\n",
            body.len(),
            page.len()
        )),
        "{}",
        run.stderr
    );
}

// ---------- broken streams: exit 61, the file as it was ----------

#[test]
fn a_truncated_gzip_stream_is_exit_61_and_the_file_is_untouched() {
    let gz = gzip(&text(100_000));
    // The HTTP body is complete (its Content-Length is met); the gzip
    // stream in it is cut before its end.
    let cut = &gz[..gz.len() / 2];
    let server = serve(Plan::new(response("Content-Encoding: gzip\r\n", cut)));
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 61, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: cannot decode the body: the gzip stream ends before its end\n"
    );
    assert_untouched(dir.path(), "out", "a truncated gzip stream");
}

/// br to `-o`, where brotli is fed a piece of its input per call
/// (coding.rs) and the writer thread takes full buffers: a body decoding
/// to many buffers arrives whole, and one cut short is exit 61 with the
/// file as it was.
#[test]
fn br_to_a_file_in_pieces_arrives_whole_and_a_cut_one_is_exit_61() {
    let page = text(3_000_000);
    let br = tool("brotli", &["-c"], &page);
    // More input than one piece (4 KiB for a 128 KiB buffer), many times.
    assert!(br.len() > 64 * 1024, "{} bytes of br", br.len());
    let server = serve(Plan::new(response("Content-Encoding: br\r\n", &br)));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::read(dir.path().join("out")).unwrap() == page);

    let cut = &br[..br.len() / 2];
    let server = serve(Plan::new(response("Content-Encoding: br\r\n", cut)));
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 61, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: cannot decode the body: the br stream ends before its end\n"
    );
    assert_untouched(dir.path(), "out", "a truncated br stream");
}

#[test]
fn a_corrupt_stream_or_an_unknown_coding_is_exit_61() {
    let mut gz = gzip(&text(10_000));
    let n = gz.len();
    gz[n - 8] ^= 0x55; // the CRC-32 in the trailer
    let server = serve(Plan::new(response("Content-Encoding: gzip\r\n", &gz)));
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 61, "{}", run.stderr);
    assert!(run
        .error_line()
        .starts_with("rawget: error: cannot decode the body: corrupt gzip stream"));
    assert_untouched(dir.path(), "out", "a corrupt gzip stream");

    let server = serve(Plan::new(response("Content-Encoding: compress\r\n", b"xx")));
    let run = rawget(&["-s", "--compressed", &server.url("/")]);
    assert_eq!(run.code, 61, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: cannot decode the body: unknown coding \"compress\" (rawget decodes gzip, deflate, br, zstd)\n"
    );
}

/// 1 GiB of zeros as 16 gzip members of 64 MiB each (a gzip body may hold
/// several, RFC 1952 section 2.2), about 1 MiB in all: made once per run.
fn gzip_bomb() -> Vec<u8> {
    let member = tool("gzip", &["-9", "-c", "-n"], &vec![0u8; 64 << 20]);
    let bomb = member.repeat(16);
    assert!(bomb.len() < 1_200_000, "{} bytes", bomb.len());
    bomb
}

#[test]
fn a_gzip_bomb_grows_the_output_not_the_memory() {
    let bomb = gzip_bomb();
    let server = serve(Plan::new(response("Content-Encoding: gzip\r\n", &bomb)));
    let run = rawget(&[
        "-s",
        "--compressed",
        "--report",
        "-",
        "-o",
        "/dev/null",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["hops"][0]["body_bytes"], 1u64 << 30);
    assert_eq!(json["hops"][0]["wire_bytes"], bomb.len() as u64);
    run.assert_peak_below(16 * 1024);

    // --max-filesize bounds the decoded size: exit 63 as soon as it passes.
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--compressed",
            "--max-filesize",
            "10M",
            "-o",
            "out",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 63, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: the body passed --max-filesize (10485760 bytes)\n"
    );
    assert_untouched(dir.path(), "out", "a bomb past --max-filesize");
}

// ---------- --tr-encoding ----------

#[test]
fn tr_encoding_asks_with_te_and_decodes_gzip_chunked() {
    let page = text(80_000);
    let gz = gzip(&page);
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec();
    wire.extend_from_slice(&chunked_body(&gz, 4000));
    let server = serve(Plan::new(wire));
    let run = rawget(&["-s", "--tr-encoding", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == page, "decoded body differs");
    let request = &server.wait_requests(1)[0];
    assert!(
        request.contains("\r\nTE: gzip\r\nConnection: TE, close\r\n"),
        "{request}"
    );
    assert!(!request.contains("Connection: close\r\n"), "{request}");

    // Without the flag the chunks are joined and the gzip bytes kept.
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout == gz,
        "the transfer coding is kept without --tr-encoding"
    );
}

/// `body` as chunks of `size` bytes, then the last chunk.
fn chunked_body(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

// ---------- --max-filesize ----------

#[test]
fn max_filesize_refuses_a_promised_length_before_writing() {
    let body = patterned(5000);
    let server = serve(Plan::new(response("", &body)));
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--max-filesize",
            "4999",
            "-o",
            "out",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 63, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: the body is larger than --max-filesize (4999 bytes): Content-Length: 5000\n"
    );
    assert_untouched(dir.path(), "out", "Content-Length over --max-filesize");
    // To stdout too, nothing is written.
    let run = rawget(&["-s", "--max-filesize", "1k", &server.url("/")]);
    assert_eq!((run.code, run.stdout.len()), (63, 0), "{}", run.stderr);
    // Exactly the limit is fine.
    let run = rawget(&["-s", "--max-filesize", "5000", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body);
}

#[test]
fn max_filesize_stops_a_chunked_body_as_it_passes() {
    let body = patterned(300_000);
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    wire.extend_from_slice(&chunked_body(&body, 10_000));
    let server = serve(Plan::new(wire).piece(10_000));
    let run = rawget(&["-s", "--max-filesize", "100000", &server.url("/")]);
    assert_eq!(run.code, 63, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: the body passed --max-filesize (100000 bytes)\n"
    );
    assert!(
        run.stdout.len() <= 100_000,
        "{} bytes written",
        run.stdout.len()
    );
    assert_eq!(run.stdout, body[..run.stdout.len()]);
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--max-filesize",
            "100000",
            "-o",
            "out",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 63, "{}", run.stderr);
    assert_untouched(dir.path(), "out", "a chunked body past --max-filesize");
}

// ---------- -r and -C: ranges and resume ----------

/// nginx serving `name` (ranges on, as it always is for static files).
fn nginx_file(name: &str, body: &[u8]) -> Nginx {
    let (name, body) = (name.to_owned(), body.to_vec());
    Nginx::start("", move |root| {
        std::fs::write(root.join(&name), &body).unwrap()
    })
}

#[test]
fn continue_at_appends_nginx_206_from_the_files_length() {
    let whole = patterned(500_000);
    let nginx = nginx_file("big.bin", &whole);
    let dir = scratch();
    std::fs::write(dir.path().join("big.bin"), &whole[..123_456]).unwrap();
    let run = rawget_in(
        dir.path(),
        &["-C", "-", "-o", "big.bin", &nginx.url("/big.bin")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let head = run.stdout_str();
    assert!(
        head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Content-Range: bytes 123456-499999/500000\r\n"),
        "{head}"
    );
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap() == whole,
        "resumed file differs"
    );
    assert_eq!(listing(dir.path()), vec!["big.bin"]);

    // Again: nginx says 416 with the whole length; the file is complete.
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "big.bin", &nginx.url("/big.bin")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == whole);
}

#[test]
fn range_asks_nginx_for_some_bytes() {
    let whole = patterned(10_000);
    let nginx = nginx_file("f.bin", &whole);
    let run = rawget(&["-s", "-r", "100-199", &nginx.url("/f.bin")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, whole[100..200]);
    let run = rawget(&["-s", "-r", "-50", &nginx.url("/f.bin")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, whole[10_000 - 50..]);
}

#[test]
fn a_server_that_ignores_the_range_is_exit_33_and_the_file_untouched() {
    let server = serve(Plan::new(response("", &patterned(1000))));
    let dir = scratch_with("part");
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "part", &server.url("/")],
    );
    assert_eq!(run.code, 33, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: the server did not resume at byte {}: 200 OK\n",
            PRECIOUS.len()
        )
    );
    assert_untouched(dir.path(), "part", "a 200 to a resume");
    let request = &server.wait_requests(1)[0];
    assert!(
        request.contains(&format!("\r\nRange: bytes={}-\r\n", PRECIOUS.len())),
        "{request}"
    );

    // A 206 from another byte is refused too.
    let server = serve(Plan::new(response(
        "Content-Range: bytes 0-9/10\r\n",
        b"0123456789",
    )));
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "part", &server.url("/")],
    );
    assert_eq!(run.code, 33, "{}", run.stderr);
    assert_untouched(dir.path(), "part", "a 206 from byte 0 to a resume");

    // -r: a 200 ignored the range.
    let run = rawget(&["-s", "-r", "0-9", &server_200().url("/")]);
    assert_eq!(run.code, 33, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: the server did not honour the range: 200 OK\n"
    );
}

fn server_200() -> Server {
    serve(Plan::new(response("", b"the whole body")))
}

#[test]
fn keep_partial_then_continue_at_completes_an_interrupted_download() {
    let whole = patterned(200_000);
    let nginx = nginx_file("f.bin", &whole);
    // The first try is cut after 70,000 body bytes: exit 18, kept.
    let first = response("", &whole);
    let cut = first.len() - whole.len() + 70_000;
    let server = serve(Plan::new(first).cut(cut));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--keep-partial", "-o", "f.bin", &server.url("/")],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("f.bin")).unwrap(),
        whole[..70_000]
    );

    // A resume that fails part-way keeps every byte already there, and
    // no more without --keep-partial.
    let mut resumed = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 70000-199999/200000\r\nContent-Length: 130000\r\n\r\n"
        .to_vec();
    let head_len = resumed.len();
    resumed.extend_from_slice(&whole[70_000..]);
    let server = serve(Plan::new(resumed.clone()).cut(head_len + 5000));
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "f.bin", &server.url("/")],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("f.bin")).unwrap(),
        whole[..70_000]
    );
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-C",
            "-",
            "--keep-partial",
            "-o",
            "f.bin",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().next().unwrap_or(""),
        "rawget: kept the partial body in f.bin (5000 bytes appended to its 70000)"
    );
    assert_eq!(
        std::fs::read(dir.path().join("f.bin")).unwrap(),
        whole[..75_000]
    );

    // Then nginx completes it.
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "f.bin", &nginx.url("/f.bin")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read(dir.path().join("f.bin")).unwrap() == whole,
        "completed file differs"
    );
    assert_eq!(listing(dir.path()), vec!["f.bin"]);
}

// ---------- --retry ----------

fn status(code: u16, reason: &str, fields: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {code} {reason}\r\n{fields}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn retry_after_503s_starts_the_output_afresh_and_says_why() {
    let busy = || {
        Plan::new(status(
            503,
            "Service Unavailable",
            "",
            b"busy, come back later",
        ))
    };
    let server = serve_sequence(vec![busy(), busy(), Plan::new(response("", b"at last\n"))]);
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "--retry",
            "2",
            "--retry-delay",
            "0.01",
            "-o",
            "out",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rawget: warning: attempt 1 failed: HTTP 503 Service Unavailable; retrying in 0.01 s (2 retries left)\n\
         rawget: warning: attempt 2 failed: HTTP 503 Service Unavailable; retrying in 0.01 s (1 retry left)\n"
    );
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"at last\n");
    assert_eq!(listing(dir.path()), vec!["out"]);
    assert_eq!(server.wait_requests(3).len(), 3);
}

#[test]
fn retry_honours_retry_after_and_the_last_attempt_is_the_response() {
    let server = serve_sequence(vec![
        Plan::new(status(
            429,
            "Too Many Requests",
            "Retry-After: 1\r\n",
            b"slow down",
        )),
        Plan::new(status(503, "Service Unavailable", "", b"still busy")),
    ]);
    let started = std::time::Instant::now();
    let run = rawget(&["-s", "--retry", "1", &server.url("/")]);
    // Retry-After: 1 was waited for; the second 503 is the last attempt's,
    // so it is the response, written as any response is.
    assert!(started.elapsed() >= std::time::Duration::from_millis(950));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, b"still busy");
    let server = serve_sequence(vec![
        Plan::new(status(
            429,
            "Too Many Requests",
            "Retry-After: 1\r\n",
            b"slow down",
        )),
        Plan::new(status(503, "Service Unavailable", "", b"still busy")),
    ]);
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-f", "--retry", "1", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 22, "{}", run.stderr);
    assert_untouched(dir.path(), "out", "two failed attempts under -f");
    assert!(
        run.stderr.ends_with(
            "rawget: error: the requested URL returned error: 503 Service Unavailable\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.starts_with(
            "rawget: warning: attempt 1 failed: HTTP 429 Too Many Requests; retrying in 1 s (1 retry left)\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn retry_max_time_bounds_when_a_retry_may_start() {
    let server = serve_sequence(vec![
        Plan::new(status(503, "Service Unavailable", "", b"first")),
        Plan::new(status(503, "Service Unavailable", "", b"second")),
    ]);
    // 1 ms: the wait (1 s of backoff) is cut to what is left, and the
    // second attempt starts past the bound, so it is the last.
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "--retry",
            "5",
            "--retry-max-time",
            "0.001",
            "-o",
            "out",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One retry, whose wait is what was left of the 1 ms (0 s, or a
    // fraction of a millisecond when the first attempt was that quick).
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "rawget: warning: attempt 1 failed: HTTP 503 Service Unavailable; retrying in 0"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(" s (5 retries left)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"second");
}

#[test]
fn retry_connrefused_and_timeouts() {
    let addr = closed_addr().to_string();
    let url = format!("http://{addr}/");
    let run = rawget(&["--retry", "1", "--retry-delay", "0", &url]);
    assert_eq!(run.code, 7);
    run.error_line(); // one attempt: a refused connection is not retried by default
    let run = rawget(&[
        "--retry",
        "1",
        "--retry-delay",
        "0",
        "--retry-connrefused",
        &url,
    ]);
    assert_eq!(run.code, 7);
    assert!(
        run.stderr
            .starts_with("rawget: warning: attempt 1 failed: could not connect to"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);

    // A timeout is retried; the second attempt has the whole of -m again.
    let ok = response("", b"in time\n");
    let server = serve_sequence(vec![
        Plan::new(ok.clone()).cut(10).end(End::Hang),
        Plan::new(ok),
    ]);
    let run = rawget(&[
        "-s",
        "-m",
        "0.5",
        "--retry",
        "1",
        "--retry-delay",
        "0",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, b"in time\n");
}

#[test]
fn retry_with_continue_at_resumes_from_what_the_last_attempt_kept() {
    let whole = patterned(50_000);
    let part = |from: usize, cut: Option<usize>| {
        let mut r = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-49999/50000\r\nContent-Length: {}\r\n\r\n",
            50_000 - from
        )
        .into_bytes();
        let head = r.len();
        r.extend_from_slice(&whole[from..]);
        let plan = Plan::new(r);
        match cut {
            Some(n) => plan.cut(head + n),
            None => plan,
        }
    };
    let server = serve_sequence(vec![part(10, Some(5000)), part(5010, None)]);
    let dir = scratch();
    std::fs::write(dir.path().join("f"), &whole[..10]).unwrap();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-C",
            "-",
            "--keep-partial",
            "--retry",
            "1",
            "--retry-all-errors",
            "--retry-delay",
            "0",
            "-o",
            "f",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read(dir.path().join("f")).unwrap() == whole,
        "file differs"
    );
    let requests = server.wait_requests(2);
    assert!(
        requests[0].contains("\r\nRange: bytes=10-\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].contains("\r\nRange: bytes=5010-\r\n"),
        "{}",
        requests[1]
    );
}

// ---------- -O, -J, --output-dir, --create-dirs ----------

#[test]
fn remote_name_saves_as_the_urls_last_segment() {
    let server = serve(Plan::new(response("", b"the report\n")));
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-O", &server.url("/a/b/report.txt?x=1")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout_str().starts_with("HTTP/1.1 200 OK\r\n"),
        "the head on stdout"
    );
    assert_eq!(
        std::fs::read(dir.path().join("report.txt")).unwrap(),
        b"the report\n"
    );
    assert_eq!(listing(dir.path()), vec!["report.txt"]);

    let run = rawget_in(
        dir.path(),
        &["-s", "--remote-name-all", &server.url("/x/all.bin")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("all.bin")).unwrap(),
        b"the report\n"
    );

    let run = rawget_in(dir.path(), &["-O", &server.url("/dir/")]);
    assert_eq!(run.code, 23);
    assert!(
        run.error_line().contains("has no file name to save to"),
        "{}",
        run.stderr
    );
    drop(server.allow_unused());
}

#[test]
fn output_dir_and_create_dirs() {
    let server = serve(Plan::new(response("", b"kept here\n")));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-O",
            "--output-dir",
            "got/deep",
            &server.url("/f.txt"),
        ],
    );
    assert_eq!(
        run.code, 23,
        "no directory without --create-dirs: {}",
        run.stderr
    );
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-O",
            "--output-dir",
            "got/deep",
            "--create-dirs",
            &server.url("/f.txt"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("got/deep/f.txt")).unwrap(),
        b"kept here\n"
    );
    let run = rawget_in(
        dir.path(),
        &["-s", "--create-dirs", "-o", "a/b/c.txt", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("a/b/c.txt")).unwrap(),
        b"kept here\n"
    );
}

#[test]
fn remote_header_name_strips_directories_and_never_overwrites() {
    let cd = "Content-Disposition: attachment; filename=\"../../evil.txt\"\r\n";
    let server = serve(Plan::new(response(cd, b"from the server\n")));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "-O", "-J", &server.url("/download?id=7")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("evil.txt")).unwrap(),
        b"from the server\n"
    );
    assert_eq!(
        listing(dir.path()),
        vec!["evil.txt"],
        "nothing outside, no -O name left"
    );

    let dir = scratch_with("evil.txt");
    let run = rawget_in(dir.path(), &["-s", "-OJ", &server.url("/download")]);
    assert_eq!(run.code, 23, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: refusing to overwrite ./evil.txt (named by Content-Disposition): it exists\n"
    );
    assert_untouched(dir.path(), "evil.txt", "-J onto an existing file");

    let run = rawget(&["-J", &server.url("/x")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

// ---------- several URLs in one command ----------

#[test]
fn several_urls_pair_outputs_in_order_and_print_heads_in_order() {
    let one = serve(Plan::new(status(200, "One", "", b"first body\n")));
    let two = serve(Plan::new(status(200, "Two", "", b"second body\n")));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[&one.url("/"), &two.url("/"), "-o", "a", "-o", "b"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let heads = run.stdout_str();
    assert!(heads.starts_with("HTTP/1.1 200 One\r\n"), "{heads}");
    assert!(
        heads.find("HTTP/1.1 200 Two\r\n") > heads.find("HTTP/1.1 200 One\r\n"),
        "{heads}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("a")).unwrap(),
        b"first body\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("b")).unwrap(),
        b"second body\n"
    );

    // -O per URL, and --remote-name-all; without outputs, stdout in order.
    let run = rawget_in(
        dir.path(),
        &["-s", "-O", &one.url("/x.txt"), "-O", &two.url("/y.txt")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("x.txt")).unwrap(),
        b"first body\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("y.txt")).unwrap(),
        b"second body\n"
    );
    let run = rawget_in(
        dir.path(),
        &["-s", "--remote-name-all", &one.url("/p"), &two.url("/q")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("q")).unwrap(),
        b"second body\n"
    );
    let run = rawget(&["-s", &one.url("/"), &two.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, b"first body\nsecond body\n");

    // -D and --save-raw gather every URL's bytes, in order.
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-D",
            "heads.txt",
            "--save-raw",
            "wire.bin",
            &one.url("/"),
            &two.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = status(200, "One", "", b"first body\n");
    let second = status(200, "Two", "", b"second body\n");
    let heads = [head_of(&first), head_of(&second)].concat();
    assert_eq!(std::fs::read(dir.path().join("heads.txt")).unwrap(), heads);
    assert_eq!(
        std::fs::read(dir.path().join("wire.bin")).unwrap(),
        [first, second].concat()
    );
}

#[test]
fn the_exit_code_is_the_last_failures_and_fail_early_stops() {
    let refused = format!("http://{}/", closed_addr());
    let ok = serve(Plan::new(response("", b"fine\n")));
    let missing = serve(Plan::new(status(404, "Not Found", "", b"no")));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-f",
            &refused,
            &ok.url("/"),
            &missing.url("/"),
            "-o",
            "r",
            "-o",
            "ok",
            "-o",
            "m",
        ],
    );
    assert_eq!(run.code, 22, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("rawget: error: could not connect to"),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines[1],
        "rawget: error: the requested URL returned error: 404 Not Found"
    );
    assert_eq!(listing(dir.path()), vec!["ok"]);
    // The last URL fine: the exit is still the earlier failure's.
    let run = rawget(&["-s", &refused, &ok.url("/")]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(run.stdout, b"fine\n");
    run.error_line();

    let unused = serve(Plan::new(response("", b"never"))).expect_unused();
    let run = rawget(&["-s", "--fail-early", &refused, &unused.url("/")]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    run.error_line();
}

/// A resume interrupted by SIGTERM: FILE is cut back to what it held, or
/// with --keep-partial keeps what was appended.
#[test]
fn a_signal_during_a_resume_cuts_the_file_back_or_keeps_what_arrived() {
    let whole = patterned(100_000);
    for keep in [false, true] {
        let mut wire = b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1000-99999/100000\r\nContent-Length: 99000\r\n\r\n".to_vec();
        let head = wire.len();
        wire.extend_from_slice(&whole[1000..]);
        let server = serve(Plan::new(wire).cut(head + 3000).end(End::Hang));
        let dir = scratch();
        let file = dir.path().join("f");
        std::fs::write(&file, &whole[..1000]).unwrap();
        let mut args = vec!["-s", "-C", "-", "-o", "f"];
        if keep {
            args.push("--keep-partial");
        }
        let url = server.url("/");
        args.push(&url);
        let mut child = Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        eventually("the 3,000 bytes appended", || {
            std::fs::metadata(&file).is_ok_and(|m| m.len() == 4000)
        });
        // SAFETY: signalling our own child, which has not been reaped.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        let (status, _) = wait_bounded(&mut child);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM), "keep {keep}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        let now = std::fs::read(&file).unwrap();
        if keep {
            assert!(now == whole[..4000], "keep: {} bytes", now.len());
            assert_eq!(
                stderr,
                "rawget: kept the partial body in f (3000 bytes appended)\n"
            );
        } else {
            assert!(now == whole[..1000], "cut back: {} bytes", now.len());
            assert_eq!(stderr, "");
        }
        assert_eq!(listing(dir.path()), vec!["f"]);
    }
}

/// A coded body that arrives in two parts, two seconds apart, is written
/// as it comes: what the first part decodes to is in the temporary file
/// while the second is still on its way. The first part (one gzip member)
/// decodes to more than the writer thread's 128 KiB buffer, so the thread
/// runs, and to a part-filled buffer after it, which only the hand-over
/// when the input runs dry puts in the file.
#[test]
fn a_decoded_body_reaches_the_file_as_it_arrives() {
    let (first, second) = (text(200_000), text(50_000));
    let (a, b) = (gzip(&first), gzip(&second));
    let mut body = a.clone();
    body.extend_from_slice(&b);
    let wire = response("Content-Encoding: gzip\r\n", &body);
    // Two pieces: the head with the first member, then the second member.
    let piece = wire.len() - b.len();
    assert!(b.len() <= piece);
    let server = serve(
        Plan::new(wire)
            .piece(piece)
            .delay(std::time::Duration::from_secs(2)),
    );
    let dir = scratch();
    let url = server.url("/");
    let mut child = Command::new(BIN)
        .args(["-s", "--compressed", "-o", "out", &url])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the first member's text in the temporary file", || {
        part_len(dir.path()) == Some(first.len() as u64)
    });
    assert!(wait_bounded(&mut child).0.success());
    let mut whole = first;
    whole.extend_from_slice(&second);
    assert!(std::fs::read(dir.path().join("out")).unwrap() == whole);
    assert_eq!(listing(dir.path()), vec!["out"]);
}
