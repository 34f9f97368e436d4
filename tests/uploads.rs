//! `-T` uploads (issue 15 item 1) against a small upload target on
//! loopback that reads the body as a server must (Content-Length or
//! chunked), answers `Expect: 100-continue` as told, and reports what it
//! stored; nginx with a low `client_max_body_size` for the 413 a real
//! server sends instead of 100; and curl's request bytes for the same
//! command.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::requests::same_as_curl;
use crate::support::*;

/// How the upload target answers a head that says `Expect: 100-continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnExpect {
    /// `100 Continue`, then read the body.
    Continue,
    /// Say nothing: the client must send the body after its wait.
    Ignore,
    /// `413` at once, without reading the body, then see what still comes.
    Refuse,
}

/// What the upload target received.
#[derive(Debug)]
struct Received {
    head: String,
    /// Body bytes (chunked framing removed).
    len: u64,
    /// The first [`KEEP`] body bytes.
    body: Vec<u8>,
    /// Every body byte was zero.
    zeros: bool,
}

/// Body bytes the target keeps to compare.
const KEEP: usize = 4 * 1024 * 1024;

/// Every wait of the target is bounded.
const TARGET_LIMIT: Duration = Duration::from_secs(30);

/// A one-client upload target on 127.0.0.1.
fn upload_target(on_expect: OnExpect) -> (SocketAddr, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upload target");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let handle = thread::spawn(move || {
        let deadline = Instant::now() + TARGET_LIMIT;
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no client came to the upload target: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(TARGET_LIMIT)).unwrap();
        serve_upload(stream, on_expect)
    });
    (addr, handle)
}

fn serve_upload(stream: TcpStream, on_expect: OnExpect) -> Received {
    let mut out = stream.try_clone().unwrap();
    let mut r = BufReader::with_capacity(256 * 1024, stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "head cut: {head:?}");
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let field = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let mut got = Received {
        head: head.clone(),
        len: 0,
        body: Vec::new(),
        zeros: true,
    };
    if field("Expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        match on_expect {
            OnExpect::Continue => out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap(),
            OnExpect::Ignore => {}
            OnExpect::Refuse => {
                out.write_all(
                    b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig\n",
                )
                .unwrap();
                // Whatever still comes is body the client should not send.
                r.get_ref()
                    .set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                let mut rest = Vec::new();
                let _ = r.read_to_end(&mut rest);
                got.len = rest.len() as u64;
                return got;
            }
        }
    }
    if field("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = u64::from_str_radix(size.trim_end(), 16).expect("chunk size");
            take(&mut r, n, &mut got);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).unwrap();
            assert_eq!(&crlf, b"\r\n");
            if n == 0 {
                break;
            }
        }
    } else {
        let n = field("Content-Length").map_or(0, |v| v.parse().expect("Content-Length"));
        take(&mut r, n, &mut got);
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
        got.len.to_string().len(),
        got.len
    );
    out.write_all(reply.as_bytes()).unwrap();
    got
}

/// Reads `n` body bytes into `got`.
fn take(r: &mut impl BufRead, mut n: u64, got: &mut Received) {
    while n > 0 {
        let buf = r.fill_buf().unwrap();
        assert!(!buf.is_empty(), "the body ended {n} bytes early");
        let k = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        let piece = &buf[..k];
        got.zeros &= piece.iter().all(|&b| b == 0);
        let room = KEEP.saturating_sub(got.body.len()).min(k);
        got.body.extend_from_slice(&piece[..room]);
        got.len += k as u64;
        n -= k as u64;
        r.consume(k);
    }
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

#[test]
fn upload_file_is_sent_with_its_length_as_curl_sends_it() {
    let dir = scratch();
    std::fs::write(dir.path().join("up.txt"), "hello\n").unwrap();
    // `Expect:` off for both: curl 7.88 asks for 100 on every PUT, rawget
    // (as later curl) only above 1 MiB.
    let r = same_as_curl(dir.path(), &["-T", "up.txt", "-H", "Expect:"], b"");
    assert!(
        r.starts_with("PUT /x HTTP/1.1\r\n") && r.ends_with("\r\nContent-Length: 6\r\n\r\nhello\n"),
        "{r}"
    );
    let r = same_as_curl(
        dir.path(),
        &["-T", "up.txt", "-X", "POST", "-H", "Expect:"],
        b"",
    );
    assert!(r.starts_with("POST /x HTTP/1.1\r\n"), "{r}");
}

#[test]
fn a_url_ending_in_a_slash_gets_the_file_name() {
    let dir = scratch();
    std::fs::write(dir.path().join("a b.txt"), "x").unwrap();
    let (addr, target) = upload_target(OnExpect::Continue);
    let run = rawget_in(dir.path(), &["-s", "-T", "a b.txt", &url(addr, "/dir/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = target.join().unwrap();
    assert!(
        got.head.starts_with("PUT /dir/a%20b.txt HTTP/1.1\r\n"),
        "{}",
        got.head
    );
    assert_eq!(got.body, b"x");
}

#[test]
fn stdin_is_sent_chunked() {
    let (addr, target) = upload_target(OnExpect::Continue);
    let input = patterned(300 * 1024);
    let run = rawget_input(&["-s", "-T", "-", &url(addr, "/in")], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = target.join().unwrap();
    assert!(
        got.head
            .contains("\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"),
        "{}",
        got.head
    );
    assert!(!got.head.contains("Content-Length"), "{}", got.head);
    assert_eq!(got.len, input.len() as u64);
    assert!(got.body == input, "the stored bytes differ from stdin");
    // What rawget prints is the target's answer: it read every byte.
    assert_eq!(run.stdout, input.len().to_string().as_bytes());
}

#[test]
fn a_large_upload_waits_for_100_then_sends_every_byte() {
    let dir = scratch();
    let data = patterned(3 * 1024 * 1024 + 5);
    std::fs::write(dir.path().join("big"), &data).unwrap();
    for on_expect in [OnExpect::Continue, OnExpect::Ignore] {
        let (addr, target) = upload_target(on_expect);
        let run = rawget_in(dir.path(), &["-v", "-T", "big", &url(addr, "/b")]);
        assert_eq!(run.code, 0, "{on_expect:?}: {}", run.stderr);
        let got = target.join().unwrap();
        assert!(
            got.head
                .ends_with("\r\nContent-Length: 3145733\r\nExpect: 100-continue\r\n\r\n"),
            "{}",
            got.head
        );
        assert!(got.body == data, "{on_expect:?}: the stored bytes differ");
        if on_expect == OnExpect::Continue {
            assert!(
                run.stderr.contains("< HTTP/1.1 100 Continue"),
                "{}",
                run.stderr
            );
        } else {
            assert!(
                run.stderr.contains("no 100 Continue within 1 s"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn a_final_response_instead_of_100_ends_the_upload_cleanly() {
    let dir = scratch();
    std::fs::write(dir.path().join("big"), patterned(2 * 1024 * 1024)).unwrap();
    let (addr, target) = upload_target(OnExpect::Refuse);
    let run = rawget_in(dir.path(), &["-T", "big", "-o", "body", &url(addr, "/b")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .stdout_str()
        .starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
    assert_eq!(std::fs::read(dir.path().join("body")).unwrap(), b"big\n");
    let got = target.join().unwrap();
    assert_eq!(got.len, 0, "body bytes were sent after the 413");
    // And with -f it is the failure it says.
    let (addr, target) = upload_target(OnExpect::Refuse);
    let run = rawget_in(dir.path(), &["-f", "-T", "big", &url(addr, "/b")]);
    assert_eq!(run.code, 22, "{}", run.stderr);
    assert_eq!(target.join().unwrap().len, 0);
}

#[test]
fn a_256_mib_upload_streams_in_flat_memory() {
    let dir = scratch();
    let path = dir.path().join("sparse");
    let len = 256u64 * 1024 * 1024;
    // Sparse: no disk is used, and the reads still return every byte.
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    let (addr, target) = upload_target(OnExpect::Continue);
    let run = rawget_in(dir.path(), &["-s", "-T", "sparse", &url(addr, "/s")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = target.join().unwrap();
    assert_eq!((got.len, got.zeros), (len, true));
    run.assert_peak_below(16 * 1024);
}

#[test]
fn an_upload_that_cannot_be_read_is_exit_26_before_connecting() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["-T", "/nonexistent/up", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert_eq!(
        run.error_line(),
        "rawget: error: could not read upload file /nonexistent/up: No such file or directory\n"
    );
    let run = rawget(&["-T", "/", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line().contains("it is a directory"),
        "{}",
        run.stderr
    );
    let run = rawget(&["-T", "/etc/hostname", "-d", "x", &server.url("/")]);
    assert_eq!(run.code, 2);
}

#[test]
fn dry_run_shows_the_upload_as_it_would_be_sent() {
    let run = rawget_input(&["--dry-run", "-T", "-", "http://h/x"], b"abc");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout_str().ends_with(
            "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        ),
        "{}",
        run.stdout_str()
    );
}

/// nginx, where users meet it: over `client_max_body_size` it answers 413
/// to the head alone, and rawget sends no body after it.
#[test]
fn nginx_refuses_a_large_upload_with_413_instead_of_100() {
    let nginx = Path::new("/usr/sbin/nginx");
    assert!(
        nginx.exists(),
        "this test runs nginx: install it (apt-get install nginx-light)"
    );
    let dir = scratch();
    let work = dir.path();
    std::fs::write(work.join("big"), patterned(2 * 1024 * 1024)).unwrap();
    let Some((port, pid)) = start_nginx(nginx, work) else {
        panic!(
            "nginx did not start: {}",
            std::fs::read_to_string(work.join("error.log")).unwrap_or_default()
        );
    };
    let run = rawget_in(
        work,
        &[
            "-v",
            "-T",
            "big",
            "-o",
            "body",
            &format!("http://127.0.0.1:{port}/up"),
        ],
    );
    // SAFETY: `pid` is the nginx master this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout_str().starts_with("HTTP/1.1 413 "),
        "{}",
        run.stdout_str()
    );
    assert!(!run.stderr.contains("100 Continue"), "{}", run.stderr);
    assert!(
        run.stderr.contains("the body is not sent"),
        "{}",
        run.stderr
    );
}

/// Starts nginx in `work` on a free-looking port; its port and pid.
fn start_nginx(nginx: &Path, work: &Path) -> Option<(u16, i32)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o755)).ok()?;
    for attempt in 0..5u16 {
        let port = closed_addr().port().wrapping_add(attempt);
        let w = work.display();
        let conf = format!(
            "daemon on;\nworker_processes 1;\npid {w}/nginx.pid;\nerror_log {w}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {w}/tmp;\n  client_max_body_size 1k;\n\
               server {{ listen 127.0.0.1:{port}; root {w}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n"
        );
        std::fs::write(work.join("nginx.conf"), conf).ok()?;
        let status = std::process::Command::new(nginx)
            .args([
                "-p",
                &w.to_string(),
                "-c",
                &format!("{w}/nginx.conf"),
                "-e",
                &format!("{w}/error.log"),
            ])
            .status()
            .ok()?;
        if !status.success() {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(pid) = std::fs::read_to_string(work.join("nginx.pid")) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some((port, pid.trim().parse().ok()?));
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    None
}

#[test]
fn a_reset_while_the_body_waits_for_100_is_exit_56() {
    // The server resets on accept: the head went out, the wait hears the
    // reset, and that is the failure reported (one line).
    let dir = scratch();
    std::fs::write(dir.path().join("big"), patterned(2 << 20)).unwrap();
    let server = serve(Plan::new(Vec::new()).read_request(false).end(End::Reset));
    let run = rawget_in(dir.path(), &["-s", "-T", "big", &server.url("/up")]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert!(
        run.error_line().contains("connection reset by peer"),
        "{}",
        run.stderr
    );
}

/// A form with a 3 MiB file part: the target splits the stored body at the
/// boundary the head names and finds each part whole, the file's bytes
/// exactly; the upload waited for the 100 as a large body does.
#[test]
fn a_form_file_part_is_streamed_and_arrives_whole() {
    let dir = scratch();
    let data = patterned(3 * 1024 * 1024);
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let (addr, target) = upload_target(OnExpect::Continue);
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-F",
            "note=hi",
            "-F",
            "file=@big.bin",
            &url(addr, "/f"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = target.join().unwrap();
    assert!(got.head.starts_with("POST /f HTTP/1.1\r\n"), "{}", got.head);
    assert!(
        got.head.contains("\r\nExpect: 100-continue\r\n"),
        "{}",
        got.head
    );
    let at = got.head.find("boundary=").expect("a boundary") + "boundary=".len();
    let boundary = got.head[at..].lines().next().unwrap().trim().to_owned();
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &got.body[..];
    while let Some(i) = find(rest, delimiter.as_bytes()) {
        parts.push(&rest[..i]);
        rest = &rest[i + delimiter.len()..];
    }
    assert_eq!(rest, b"--\r\n", "the close delimiter ends the body");
    assert_eq!(parts.len(), 3, "preamble, two parts");
    assert_eq!(
        parts[1],
        b"\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
    );
    let file_head = b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
                      Content-Type: application/octet-stream\r\n\r\n";
    assert!(parts[2].starts_with(file_head));
    assert!(
        parts[2][file_head.len()..parts[2].len() - 2] == data[..],
        "the file part differs"
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Over https the body goes at once, with no `Expect` of rawget's own: a
/// server that ignores `Expect` (the replay server does) still gets it
/// and answers at once (the wait could block on TLS session tickets).
#[test]
fn over_https_a_large_upload_is_sent_without_the_wait() {
    let dir = scratch();
    std::fs::write(dir.path().join("big"), patterned(2 << 20)).unwrap();
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let ca = tls_fixture("ca.pem");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--cacert",
            &ca,
            "-T",
            "big",
            "-o",
            "/dev/null",
            &server.url("/up"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = &server.replay().requests()[0];
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&request[..head_end]);
    assert!(!head.contains("Expect"), "{head}");
    assert!(head.contains("Content-Length: 2097152"), "{head}");
    assert_eq!(
        request.len() - head_end - 4,
        2 << 20,
        "the whole body arrived"
    );
}
