//! `rawget send --pipeline` at scale, against nginx on loopback
//! (`support::real`): tens of thousands of requests on one connection,
//! over TLS too, where writing everything before reading deadlocks once
//! the replies fill both sides' buffers; and memory that stays flat
//! whatever the count, the input framed as it is written.

use crate::support::*;

/// `n` GETs, each padded by a header of `pad` bytes, one after another.
fn gets(n: usize, pad: usize) -> Vec<u8> {
    let one = format!(
        "GET /n HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(pad)
    );
    one.repeat(n).into_bytes()
}

/// The verdict lines of a run, for a failure's message.
fn verdict(run: &Run) -> String {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("verdict: "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn twenty_thousand_pipelined_over_tls_to_nginx_are_all_answered() {
    // 20,000 requests of about 600 bytes (12 MB) and as many answers of
    // 1 KiB (about 25 MB with their heads): far more than the socket
    // buffers of both sides hold, so written before reading, both sides
    // would block in write. -m bounds it: a regression fails with exit 28
    // instead of hanging.
    const N: usize = 20_000;
    let nginx = RealServer::nginx_pipeline(true, 1024);
    let dir = scratch();
    let input = dir.path().join("pipeline.http");
    std::fs::write(&input, gets(N, 540)).unwrap();
    let url = format!("https://localhost:{}/", nginx.addr.port());
    let run = rawget(&[
        "send",
        "--pipeline",
        "-s",
        "--wait",
        "0",
        "-m",
        "25",
        "--cacert",
        &tls_fixture("ca.pem"),
        &url,
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, nginx.logs());
    // -s prints no verdict: the exit code says every request was answered
    // once, in order; the report counts them.
    let json = dir.path().join("r.json");
    let run = rawget(&[
        "send",
        "--pipeline",
        "--wait",
        "0",
        "-m",
        "25",
        "--cacert",
        &tls_fixture("ca.pem"),
        "--report",
        json.to_str().unwrap(),
        &url,
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", verdict(&run), nginx.logs());
    let v = verdict(&run);
    assert!(
        v.contains(&format!(
            "{N} requests framed in {} bytes sent; {N} responses received; 0 bytes after",
            gets(N, 540).len()
        )),
        "{v}"
    );
    assert!(v.contains("in step"), "{v}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let responses = report["responses"].as_array().unwrap();
    assert_eq!(responses.len(), N);
    assert_eq!(report["requests"].as_array().unwrap().len(), N);
    assert!(responses
        .iter()
        .enumerate()
        .all(|(i, r)| r["answers"] == i + 1 && r["status"] == 200 && r["body_bytes"] == 1024));
}

#[test]
fn a_long_plain_pipeline_from_stdin_is_answered_in_order() {
    // The input comes on a pipe, read in pieces as it is written: nothing
    // is known of its length beforehand.
    const N: usize = 20_000;
    let nginx = RealServer::nginx_pipeline(false, 100);
    let input = gets(N, 10);
    let run = rawget_input(
        &[
            "send",
            "--pipeline",
            "--wait",
            "0",
            "-m",
            "25",
            &nginx.url("/"),
        ],
        &input,
    );
    assert_eq!(run.code, 0, "{}\n{}", verdict(&run), nginx.logs());
    let v = verdict(&run);
    let want = format!(
        "{N} requests framed in {} bytes sent; {N} responses",
        input.len()
    );
    assert!(v.contains(&want), "{v}");
    // Every head printed, in order, each with nginx's body length.
    let heads = run.stdout_str().matches("HTTP/1.1 200 OK\r\n").count();
    assert_eq!(heads, N);
}

#[test]
fn memory_stays_flat_whatever_the_count() {
    // Before, the input was read whole: 50,000 requests of 45 bytes grew
    // the peak by about 4 MiB. Framed as it is written, 100 times the
    // requests cost no more than a small allowance for the allocator.
    // --wait keeps each run alive long enough for its peak to be read.
    let nginx = RealServer::nginx_pipeline(false, 16);
    let dir = scratch();
    let peak = |n: usize| {
        let input = dir.path().join(format!("p{n}.http"));
        std::fs::write(&input, gets(n, 0)).unwrap();
        let run = rawget(&[
            "send",
            "--pipeline",
            "-s",
            "--wait",
            "300",
            "-m",
            "25",
            &nginx.url("/"),
            input.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}\n{}", run.stderr, nginx.logs());
        run.peak_kib
            .expect("rawget ended before its peak memory could be read")
    };
    let small = peak(500);
    let large = peak(50_000);
    assert!(
        large < small + 1024,
        "peak RSS {large} KiB for 50,000 requests, {small} KiB for 500"
    );
}
