//! Bodies as real servers send them, the items of issue 14 that
//! `tests/bodies.rs` leaves out: `If-Range` against nginx (a validator that
//! matches gives the 206, one that does not the whole 200, and the resume
//! rules hold on nginx's real answers), `deflate` in both forms curl
//! accepts (zlib-wrapped and raw), made at test time from the output of
//! Debian's `gzip`, and a decoded body large enough to be written behind
//! the decoder by the second thread (`src/output/behind.rs`): every byte
//! arrives in order, a failed write is exit 23, `--keep-partial` keeps a
//! prefix.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::bodies::nginx::Nginx;
use crate::support::*;

/// nginx serving `name` (ranges and If-Range on, as for any static file).
fn nginx_file(name: &str, body: &[u8]) -> Nginx {
    let (name, body) = (name.to_owned(), body.to_vec());
    Nginx::start("", move |root| {
        std::fs::write(root.join(&name), &body).unwrap()
    })
}

/// The value of header field `name` in a printed head.
fn field(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

/// nginx's validators for `url`: (ETag, Last-Modified), from `rawget -I`.
fn validators(url: &str) -> (String, String) {
    let run = rawget(&["-s", "-I", url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let head = run.stdout_str();
    (field(&head, "ETag"), field(&head, "Last-Modified"))
}

// ---------- If-Range against nginx ----------

#[test]
fn if_range_that_matches_gives_nginx_206_and_one_that_does_not_the_whole_200() {
    let whole = patterned(20_000);
    let nginx = nginx_file("f.bin", &whole);
    let url = nginx.url("/f.bin");
    let (etag, modified) = validators(&url);
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");

    // The ETag and the date both match: 206 with exactly the range.
    for validator in [&etag, &modified] {
        let if_range = format!("If-Range: {validator}");
        let run = rawget(&["-i", "-s", "-r", "100-199", "-H", &if_range, &url]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let (head, body) = split_head(&run.stdout);
        let head = String::from_utf8_lossy(head);
        assert!(head.starts_with("HTTP/1.1 206 "), "{validator}: {head}");
        assert_eq!(field(&head, "Content-Range"), "bytes 100-199/20000");
        assert_eq!(body, &whole[100..200]);
    }

    // A validator of another version: nginx ignores the range and sends
    // the whole file with 200, which -r refuses as it refuses any 200
    // (exit 33), printing nothing of the body.
    let run = rawget(&[
        "-s",
        "-r",
        "100-199",
        "-H",
        "If-Range: \"another-version\"",
        &url,
    ]);
    assert_eq!(run.code, 33, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: the server did not honour the range: 200 OK\n"
    );
    assert!(run.stdout.is_empty(), "no body bytes after the refusal");

    // With -i the head shows what nginx did: 200, the whole length.
    let run = rawget(&[
        "-i",
        "-s",
        "-r",
        "100-199",
        "-H",
        "If-Range: \"another-version\"",
        &url,
    ]);
    assert_eq!(run.code, 33, "{}", run.stderr);
    let head = run.stdout_str();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(field(&head, "Content-Length"), "20000");
}

#[test]
fn a_resume_with_if_range_appends_when_it_matches_and_is_exit_33_when_stale() {
    let whole = patterned(300_000);
    let nginx = nginx_file("big.bin", &whole);
    let url = nginx.url("/big.bin");
    let (etag, _) = validators(&url);

    // The saved prefix is of this version: nginx resumes, rawget appends.
    let dir = scratch();
    std::fs::write(dir.path().join("big.bin"), &whole[..100_000]).unwrap();
    let if_range = format!("If-Range: {etag}");
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-H", &if_range, "-o", "big.bin", &url],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap() == whole,
        "the resumed file differs"
    );
    assert_eq!(listing(dir.path()), vec!["big.bin"]);

    // The saved prefix is of another version: nginx sends the whole new
    // file with 200; rawget does not append it (exit 33) and the file is
    // as it was, byte for byte.
    let dir = scratch_with("big.bin");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-C",
            "-",
            "-H",
            "If-Range: \"of-another-version\"",
            "-o",
            "big.bin",
            &url,
        ],
    );
    assert_eq!(run.code, 33, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: the server did not resume at byte {}: 200 OK\n",
            PRECIOUS.len()
        )
    );
    assert_untouched(dir.path(), "big.bin", "a stale If-Range on a resume");
}

#[test]
fn a_resume_past_the_end_of_nginx_file_leaves_the_file_as_it_was() {
    // The saved file is longer than nginx's: 416 Range Not Satisfiable,
    // whose Content-Range (bytes */LEN) says the file is not a prefix.
    let whole = patterned(1000);
    let nginx = nginx_file("f.bin", &whole);
    let dir = scratch();
    let longer = patterned(1500);
    std::fs::write(dir.path().join("f.bin"), &longer).unwrap();
    let run = rawget_in(
        dir.path(),
        &["-s", "-C", "-", "-o", "f.bin", &nginx.url("/f.bin")],
    );
    assert_eq!(
        run.code, 33,
        "a longer file is not a prefix: {}",
        run.stderr
    );
    run.error_line();
    assert!(
        std::fs::read(dir.path().join("f.bin")).unwrap() == longer,
        "the file was changed"
    );
    assert_eq!(listing(dir.path()), vec!["f.bin"]);
}

// ---------- deflate, both forms ----------

/// `input` through Debian's `gzip -c -n`.
fn gzip_tool(input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-c", "-n", "-6"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run gzip ({e}): apt-get install gzip"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip failed");
    out.stdout
}

/// Raw deflate (RFC 1951): a `gzip -n` member less its 10-byte header
/// (no name, no extra field with -n: FLG is 0) and its 8-byte trailer.
fn raw_deflate(input: &[u8]) -> Vec<u8> {
    let gz = gzip_tool(input);
    assert_eq!(&gz[..4], b"\x1f\x8b\x08\x00", "gzip -n: no flags");
    gz[10..gz.len() - 8].to_vec()
}

/// zlib (RFC 1950): the CMF/FLG pair for deflate with a 32 KiB window,
/// the raw deflate, and the Adler-32 of the data, big-endian.
fn zlib(input: &[u8]) -> Vec<u8> {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in input {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    let mut out = vec![0x78, 0x9c];
    out.extend(raw_deflate(input));
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        out.extend_from_slice(format!("<li>item {} of the list</li>\n", out.len()).as_bytes());
    }
    out.truncate(len);
    out
}

fn deflate_response(body: &[u8], chunked: bool) -> Vec<u8> {
    if chunked {
        let mut r =
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        let chunked = chunked_response(body, &[1, 2, 1000, 7]);
        r.extend_from_slice(body_of(&chunked));
        return r;
    }
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn deflate_is_decoded_zlib_wrapped_and_raw_with_either_framing() {
    let page = text(200_000);
    for (form, coded) in [("zlib", zlib(&page)), ("raw", raw_deflate(&page))] {
        for chunked in [false, true] {
            let server = serve(Plan::new(deflate_response(&coded, chunked)).piece(1000));
            let dir = scratch();
            let run = rawget_in(
                dir.path(),
                &["-s", "--compressed", "-o", "page", &server.url("/")],
            );
            assert_eq!(run.code, 0, "{form}, chunked {chunked}: {}", run.stderr);
            assert!(
                std::fs::read(dir.path().join("page")).unwrap() == page,
                "{form}, chunked {chunked}: the decoded body differs"
            );
            let request = &server.wait_requests(1)[0];
            assert!(
                request.contains("\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"),
                "{request}"
            );
        }
    }
}

#[test]
fn a_cut_or_corrupt_deflate_body_is_exit_61_and_the_file_untouched() {
    let page = text(50_000);
    let z = zlib(&page);
    // Cut: the body ends (Content-Length says so) before the stream does.
    let cut = &z[..z.len() / 2];
    // Corrupt: the Adler-32 does not match.
    let mut bad = z.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x55;
    for (what, body) in [("cut", cut.to_vec()), ("bad check", bad)] {
        let server = serve(Plan::new(deflate_response(&body, false)));
        let dir = scratch_with("page");
        let run = rawget_in(
            dir.path(),
            &["-s", "--compressed", "-o", "page", &server.url("/")],
        );
        assert_eq!(run.code, 61, "{what}: {}", run.stderr);
        assert!(
            run.error_line().contains("deflate"),
            "{what}: {}",
            run.stderr
        );
        assert_untouched(dir.path(), "page", what);
    }
}

#[test]
fn without_compressed_a_deflate_body_is_saved_as_sent() {
    let page = text(10_000);
    let z = zlib(&page);
    let server = serve(Plan::new(deflate_response(&z, false)));
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-s", "-o", "page", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::read(dir.path().join("page")).unwrap() == z);
}

// ---------- a large decoded body, written behind the decoder ----------

/// Text of `len` bytes, gzip-coded, as a response with Content-Length.
fn gzip_response(page: &[u8]) -> Vec<u8> {
    let gz = gzip_tool(page);
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    r.extend_from_slice(&gz);
    r
}

#[test]
fn a_large_decoded_body_reaches_the_file_whole_and_in_order() {
    // 5 MiB decoded: many 256 KiB buffers, so the writer thread runs.
    let page = text(5 << 20);
    let server = serve(Plan::new(gzip_response(&page)).piece(64 * 1024));
    let dir = scratch_with("page");
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "page", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read(dir.path().join("page")).unwrap() == page,
        "the decoded file differs"
    );
    assert_eq!(listing(dir.path()), vec!["page"]);

    // -w's size_download counts the decoded bytes, all of them.
    let run = rawget(&[
        "-s",
        "--compressed",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_str(), page.len().to_string());
}

#[test]
fn a_failed_write_behind_the_decoder_is_exit_23() {
    let page = text(3 << 20);
    let server = serve(Plan::new(gzip_response(&page)));
    let run = rawget(&["-s", "--compressed", "-o", "/dev/full", &server.url("/")]);
    assert_eq!(run.code, 23, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: could not write to /dev/full: No space left on device\n"
    );
}

#[test]
fn keep_partial_keeps_the_decoded_prefix_when_the_body_is_cut() {
    let page = text(4 << 20);
    let response = gzip_response(&page);
    // Cut two thirds into the response (the head is some 80 bytes): the
    // decoded prefix is megabytes.
    let cut = response.len() * 2 / 3;
    let server = serve(Plan::new(response).cut(cut));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--compressed",
            "--keep-partial",
            "-o",
            "page",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    let kept = std::fs::read(dir.path().join("page")).unwrap();
    assert!(kept.len() > 1 << 20, "kept only {} bytes", kept.len());
    assert!(
        kept[..] == page[..kept.len()],
        "the kept bytes are not a prefix"
    );
    assert_eq!(
        run.stderr.lines().next().unwrap_or(""),
        format!(
            "rawget: kept the partial body in page ({} bytes)",
            kept.len()
        )
    );

    // Without --keep-partial an existing file stays as it was.
    let dir = scratch_with("page");
    let run = rawget_in(
        dir.path(),
        &["-s", "--compressed", "-o", "page", &server.url("/")],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert_untouched(dir.path(), "page", "a cut coded body");
}
