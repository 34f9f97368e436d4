//! Hostile peers and local faults, through the real binary against the
//! replay server on 127.0.0.1: servers that trickle, never finish a head,
//! lie about lengths, reset or hang; outputs that cannot be written. Each
//! case asserts the exit code of the contract, the one-line
//! `rawget: error: …` on stderr, and what was (and was not) written. Every
//! run is bounded (`RUN_LIMIT`), and every server's hang is bounded too.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// stderr is exactly one `rawget: error: …` line containing `needle`.
#[track_caller]
fn assert_one_error_line(run: &Run, needle: &str) {
    let line = run.error_line();
    assert!(line.contains(needle), "stderr {line:?} lacks {needle:?}");
}

/// Runs `rawget -s -o out.bin ARGS URL` where out.bin already exists, and
/// checks the failure left it untouched with no temporary file beside it.
/// Returns the run for further checks.
fn fails_leaving_file_untouched(url: &str, extra: &[&str], code: i32, needle: &str) -> Run {
    let dir = scratch_with("out.bin");
    let mut args = vec!["-s", "-o", "out.bin"];
    args.extend_from_slice(extra);
    args.push(url);
    let run = rawget_in(dir.path(), &args);
    assert_eq!(run.code, code, "{run:?}");
    assert_one_error_line(&run, needle);
    assert_untouched(dir.path(), "out.bin", needle);
    run
}

/// A head of `lines` header lines after a 200 status line, without its end.
fn endless_head(lines: usize) -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..lines {
        head.extend_from_slice(b"X-A: aaaa\r\n");
    }
    head
}

// ------------------------------------------------------------ slow servers

#[test]
fn head_trickled_a_byte_at_a_time_times_out_with_max_time() {
    let mut response = endless_head(50);
    response.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let server = serve(
        Plan::new(response)
            .piece(1)
            .delay(Duration::from_millis(50))
            .hang_limit(Duration::from_secs(5)),
    );
    let started = Instant::now();
    let run = fails_leaving_file_untouched(
        &server.url("/"),
        &["-m", "1"],
        28,
        "reading the response head",
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    // The whole response would take about 30 s at this pace.
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn body_trickled_times_out_and_file_is_untouched() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    response.extend(std::iter::repeat_n(b'b', 1000));
    let server = serve(
        Plan::new(response)
            .piece(41)
            .delay(Duration::from_millis(100))
            .hang_limit(Duration::from_secs(5)),
    );
    fails_leaving_file_untouched(&server.url("/"), &["-m", "1"], 28, "reading the body");
}

#[test]
fn server_that_accepts_and_never_answers_times_out() {
    let server = serve(
        Plan::new(Vec::new())
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = rawget(&["-m", "1", &server.url("/")]);
    assert_eq!(run.code, 28, "{run:?}");
    assert_one_error_line(&run, "timed out");
    assert!(run.stdout.is_empty());
    // It did get the request, and still said nothing.
    assert_eq!(server.wait_requests(1).len(), 1);
}

#[test]
fn server_that_never_reads_the_request_and_hangs_times_out() {
    let server = serve(
        Plan::new(Vec::new())
            .read_request(false)
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = rawget(&["-m", "1", &server.url("/")]);
    assert_eq!(run.code, 28, "{run:?}");
    assert_one_error_line(&run, "timed out");
}

#[test]
fn endless_interim_responses_are_refused_at_the_head_limit() {
    // Interim heads count toward the 300 KiB head limit, as curl counts
    // them (issue 11 item 14: 2 million 100 Continue heads took 550 MB).
    // 20,000 of them are 500 KB.
    let response = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(20_000);
    let server = serve(
        Plan::new(response)
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = rawget(&[
        "-s",
        "--report",
        "-",
        "-o",
        "/dev/null",
        "-m",
        "5",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 8, "{run:?}");
    assert_one_error_line(&run, "response head larger than 307200 bytes");
}

#[test]
fn interim_responses_then_silence_are_bounded_by_max_time() {
    // 1,000 100 Continue heads (25 KB), then silence: never a final response.
    let response = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1_000);
    let server = serve(
        Plan::new(response)
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = rawget(&["-s", "-m", "1", &server.url("/")]);
    assert_eq!(run.code, 28, "{run:?}");
    assert_one_error_line(&run, "timed out");
    assert!(run.stdout.is_empty());
}

// ------------------------------------------------------- heads that lie

#[test]
fn head_that_never_ends_is_refused_at_the_size_cap() {
    // 400 KiB of header lines and no blank line; the server then waits, so
    // only the cap can end it. In 32 KiB pieces 10 ms apart, so that rawget
    // runs long enough (about 100 ms) for its peak memory to be read.
    let server = serve(
        Plan::new(endless_head(400 * 1024 / 11))
            .piece(32 * 1024)
            .delay(Duration::from_millis(10))
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = fails_leaving_file_untouched(&server.url("/"), &["-m", "20"], 8, "307200 bytes");
    assert!(
        run.stderr.contains("response head larger than"),
        "{}",
        run.stderr
    );
    run.assert_peak_below(64 * 1024);
}

#[test]
fn blank_lines_without_end_are_refused_at_the_size_cap() {
    // CRLFs only: "blank lines before the status line", forever.
    let server = serve(
        Plan::new(b"\r\n".repeat(200 * 1024))
            .end(End::Hang)
            .hang_limit(Duration::from_secs(10)),
    );
    let run = rawget(&["-s", "-m", "20", &server.url("/")]);
    assert_eq!(run.code, 8, "{run:?}");
    assert_one_error_line(&run, "307200 bytes");
}

#[test]
fn head_cut_by_the_close_is_malformed() {
    let server = serve(Plan::new(endless_head(3)));
    let run = fails_leaving_file_untouched(&server.url("/"), &[], 8, "middle of the response head");
    assert!(run.stdout.is_empty());
}

// ------------------------------------------------------ bodies that lie

#[test]
fn chunk_size_overflowing_64_bits_is_malformed() {
    let server = serve(Plan::new(fixture("chunk-overflow.http")));
    fails_leaving_file_untouched(&server.url("/"), &[], 8, "larger than 64 bits");
}

#[test]
fn chunk_claiming_terabytes_then_close_is_partial_in_flat_memory() {
    // A 256 TiB chunk, 48 MiB of it, then the close, 300 ms later: rawget
    // waits with all it holds while its peak memory is read.
    let mut response =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n".to_vec();
    let sent = 48 * 1024 * 1024;
    response.resize(response.len() + sent, b'x');
    let server = serve(
        Plan::new(response)
            .end(End::Hang)
            .hang_limit(Duration::from_millis(300)),
    );
    let run = rawget(&["-s", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 18, "{run:?}");
    let missing = 0xFFFF_FFFF_FFFFu64 - sent as u64;
    assert_one_error_line(
        &run,
        &format!("transfer closed with {missing} bytes of the current chunk remaining"),
    );
    // Memory does not follow the claim, nor the bytes received.
    run.assert_peak_below(32 * 1024);
}

#[test]
fn chunk_huge_claim_fixture_keeps_partial_body_only_on_request() {
    let server = serve(Plan::new(fixture("chunk-huge-claim.http")));
    fails_leaving_file_untouched(&server.url("/"), &[], 18, "remaining to read");
}

#[test]
fn huge_content_length_with_short_body_is_partial() {
    // The close comes 300 ms after the bytes, so that rawget's peak memory
    // is read while it waits for the rest.
    let server = serve(
        Plan::new(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\nonly this".to_vec())
            .end(End::Hang)
            .hang_limit(Duration::from_millis(300)),
    );
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 18, "{run:?}");
    assert_one_error_line(
        &run,
        "transfer closed with 999999999999991 bytes remaining to read",
    );
    // To stdout the body is streamed as it comes: what arrived was written.
    assert_eq!(run.stdout, b"only this");
    run.assert_peak_below(32 * 1024);
}

#[test]
fn short_body_to_existing_file_leaves_it_untouched() {
    let server = serve(Plan::new(fixture("short-body.http")));
    fails_leaving_file_untouched(&server.url("/"), &[], 18, "90 bytes remaining");
}

#[test]
fn short_body_with_keep_partial_keeps_what_arrived() {
    let response = fixture("short-body.http");
    let server = serve(Plan::new(response.clone()));
    let dir = scratch_with("out.bin");
    let run = rawget_in(
        dir.path(),
        &["-s", "--keep-partial", "-o", "out.bin", &server.url("/")],
    );
    assert_eq!(run.code, 18, "{run:?}");
    run.assert_no_panic();
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        std::fs::read(dir.path().join("out.bin")).unwrap(),
        &response[head_end..]
    );
    assert_eq!(listing(dir.path()), vec!["out.bin"]);
    // The note about the kept file, then the error line.
    assert!(
        run.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("rawget: error: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("kept the partial body"),
        "{}",
        run.stderr
    );
}

#[test]
fn reset_in_the_middle_of_the_body_is_a_receive_failure() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
    let head = response.len();
    response.resize(head + 100_000, b'r');
    let server = serve(Plan::new(response).cut(head + 5000).end(End::Reset));
    fails_leaving_file_untouched(&server.url("/"), &[], 56, "connection reset by peer");
}

#[test]
fn reset_mid_body_with_keep_partial_keeps_a_prefix() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
    let head = response.len();
    response.resize(head + 100_000, b'r');
    let server = serve(Plan::new(response).cut(head + 5000).end(End::Reset));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--keep-partial", "-o", "out.bin", &server.url("/")],
    );
    assert_eq!(run.code, 56, "{run:?}");
    run.assert_no_panic();
    // A reset may discard what was still in flight: a prefix was kept.
    let kept = std::fs::read(dir.path().join("out.bin")).unwrap();
    assert!(kept.len() <= 5000 && kept.iter().all(|&b| b == b'r'));
    assert_eq!(listing(dir.path()), vec!["out.bin"]);
}

#[test]
fn extra_bytes_after_content_length_are_dropped_with_a_warning() {
    let server = serve(Plan::new(fixture("extra-after-body.http")));
    // Body to a file: stdout gets the head, stderr only the warning.
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-o", "out.bin", &server.url("/")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read(dir.path().join("out.bin")).unwrap(), b"hello");
    assert_eq!(
        run.stderr,
        "rawget: warning: ignored 7 bytes after the end of the body\n"
    );
    assert!(run.stdout.starts_with(b"HTTP/1.1 200"));
    assert_eq!(listing(dir.path()), vec!["out.bin"]);
    // Body to stdout: only the body there.
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, b"hello");
    assert!(run
        .stderr
        .ends_with("rawget: warning: ignored 7 bytes after the end of the body\n"));
}

// ------------------------------------------------------------ local faults

#[test]
fn output_to_dev_full_is_a_write_error() {
    let server = serve(Plan::new(fixture("ok.http")));
    let run = rawget(&["-s", "-o", "/dev/full", &server.url("/")]);
    assert_eq!(run.code, 23, "{run:?}");
    assert_one_error_line(&run, "could not write to /dev/full");
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    // A device is written directly: no temporary file was made beside it.
    let temps: Vec<String> = listing(Path::new("/dev"))
        .into_iter()
        .filter(|n| n.contains(".rawget-"))
        .collect();
    assert!(temps.is_empty(), "left in /dev: {temps:?}");
}

#[test]
fn output_into_a_missing_directory_is_a_write_error() {
    // The output is prepared before connecting: no request goes out.
    let server = serve(Plan::new(fixture("ok.http"))).expect_unused();
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "-o", "no/such/dir/out.bin", &server.url("/")],
    );
    assert_eq!(run.code, 23, "{run:?}");
    assert_one_error_line(&run, "could not create no/such/dir/out.bin");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn output_into_a_read_only_directory_is_a_write_error() {
    let dir = scratch();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // The output is prepared before connecting: no request goes out.
    let server = serve(Plan::new(fixture("ok.http"))).expect_unused();
    // Root ignores directory permissions: as root rawget runs as nobody.
    let mut cmd = Command::new(BIN);
    cmd.args(["-s", "-o", "ro/out.bin", &server.url("/")])
        .current_dir(dir.path());
    unprivileged(&mut cmd, dir.path());
    let run = run(cmd, &[]);
    assert_eq!(run.code, 23, "{run:?}");
    assert_one_error_line(&run, "could not create ro/out.bin: Permission denied");
    assert!(listing(&ro).is_empty());
}

#[test]
fn stdout_closed_early_is_a_quiet_exit_23() {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\n\r\n".to_vec();
    response.resize(response.len() + 16 * 1024 * 1024, b'z');
    let server = serve(Plan::new(response).hang_limit(Duration::from_secs(10)));
    let mut cmd = Command::new(BIN);
    without_machine_proxies(&mut cmd);
    let mut child = cmd
        .args(["-s", &server.url("/")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rawget");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    });
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"zzzzzzzzzz");
    drop(stdout);
    let (status, _) = wait_bounded(&mut child);
    let code = status.code().unwrap_or(-1);
    let stderr = err.join().unwrap();
    assert_ne!(code, -1, "killed by a signal; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 23, "stderr: {stderr}");
    assert_eq!(stderr, "", "a closed pipe is not worth a message");
}

#[test]
fn blank_lines_trickled_a_byte_at_a_time_are_refused_at_the_cap() {
    let server = serve(
        Plan::new(b"\r\n".repeat(160 * 1024))
            .piece(1)
            .end(End::Hang)
            .hang_limit(Duration::from_secs(30)),
    );
    let run = rawget(&["-s", "-m", "25", &server.url("/")]);
    assert_eq!(run.code, 8, "{run:?}");
    assert_one_error_line(&run, "307200 bytes");
}
