//! A body streaming in through a proxy, whose reads nap rather than wait
//! (`transport/pace.rs`): through tinyproxy (forwarded, read in user
//! space) and microsocks (a tunnel, spliced to the file), a pause in the
//! body still reaches the file as it arrives, the body arrives whole, and
//! a stall still ends at `--max-time` with the old file kept.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// The `-x` value for each real proxy, and the proxy (kept running).
fn proxies() -> Vec<(String, RealProxy)> {
    let tiny = RealProxy::tinyproxy();
    let socks = RealProxy::microsocks(&[]);
    vec![
        (tiny.addr.to_string(), tiny),
        (format!("socks5h://{}", socks.addr), socks),
    ]
}

/// A 200 response with `body` and its Content-Length.
fn response(body: &[u8]) -> Vec<u8> {
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(body);
    wire
}

#[test]
fn a_pause_in_a_streaming_body_reaches_the_file_as_it_arrives() {
    // 2 MiB in one write (streaming: reads far over pace::STREAMING), 1.5 s
    // of nothing, then the last 1 MiB. The first 2 MiB must be in the
    // temporary file during the pause: pacing naps before a read, it never
    // holds back what was read.
    let (first, rest) = (2 << 20, 1 << 20);
    let body = patterned(first + rest);
    let wire = response(&body);
    let piece = wire.len() - rest;
    for (x, proxy) in proxies() {
        let server = serve(
            Plan::new(wire.clone())
                .piece(piece)
                .delay(Duration::from_millis(1500)),
        );
        let dir = scratch();
        let mut child = Command::new(BIN)
            .args(["-s", "-x", &x, "-o", "out", &server.url("/paused")])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        eventually(&format!("the first 2 MiB in the file, through {x}"), || {
            part_len(dir.path()) == Some(first as u64)
        });
        let (status, _) = wait_bounded(&mut child);
        assert!(status.success(), "through {x}: {status}\n{}", proxy.log());
        let got = std::fs::read(dir.path().join("out")).unwrap();
        assert!(got == body, "through {x}: the file differs from the body");
        assert_eq!(listing(dir.path()), vec!["out"]);
    }
}

#[test]
fn a_body_that_stalls_while_streaming_ends_at_max_time_and_keeps_the_file() {
    // 2 MiB stream in, then nothing while 2 MiB more are promised: the
    // reads that nap must give way to a wait the deadline holds.
    let body = patterned(4 << 20);
    let wire = response(&body);
    let cut = wire.len() - (2 << 20);
    for (x, proxy) in proxies() {
        let server = serve(
            Plan::new(wire.clone())
                .cut(cut)
                .end(End::Hang)
                .hang_limit(Duration::from_secs(20)),
        );
        let dir = scratch_with("out");
        let started = Instant::now();
        let run = rawget_in(
            dir.path(),
            &[
                "-s",
                "-x",
                &x,
                "-m",
                "2",
                "-o",
                "out",
                &server.url("/stall"),
            ],
        );
        let took = started.elapsed();
        assert_eq!(run.code, 28, "through {x}: {}\n{}", run.stderr, proxy.log());
        let line = run.error_line();
        assert!(
            line.starts_with("rawget: error: timed out after ")
                && line.contains(&format!("reading the body ({} bytes in), ", 2 << 20)),
            "through {x}: {line}"
        );
        assert!(
            took < Duration::from_secs(3),
            "through {x}: -m 2 ended after {took:?}"
        );
        assert_untouched(dir.path(), "out", &format!("a stall through {x}"));
    }
}

#[test]
fn a_body_cut_short_while_streaming_is_exit_18_and_keeps_the_file() {
    // 2 MiB stream in and the origin closes with 2 MiB still promised:
    // the end found after the naps is the end, not a pause.
    let body = patterned(4 << 20);
    let wire = response(&body);
    let cut = wire.len() - (2 << 20);
    for (x, proxy) in proxies() {
        let server = serve(Plan::new(wire.clone()).cut(cut));
        let dir = scratch_with("out");
        let run = rawget_in(
            dir.path(),
            &["-s", "-x", &x, "-m", "20", "-o", "out", &server.url("/cut")],
        );
        assert_eq!(run.code, 18, "through {x}: {}\n{}", run.stderr, proxy.log());
        assert_eq!(
            run.error_line(),
            format!(
                "rawget: error: transfer closed with {} bytes remaining to read\n",
                2 << 20
            ),
            "through {x}"
        );
        assert_untouched(dir.path(), "out", &format!("a cut body through {x}"));
    }
}
