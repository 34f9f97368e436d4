//! Happy eyeballs (RFC 8305) through the binary: a black-holed first
//! address costs the attempt delay, not the kernel's minutes of SYN
//! retries (issue 12: `::1` black-holed took 134 s before 127.0.0.1 was
//! tried); `-4`/`-6` keep one family; `-v` shows every attempt.

use crate::support::*;

/// A black hole on `[::1]:P` and the test server on `127.0.0.1:P` (the
/// same port, since `--resolve` gives addresses, not ports); `None` when
/// there is no IPv6 loopback here.
fn hole_and_server() -> Option<(BlackHole, Server)> {
    for _ in 0..10 {
        let hole = black_hole("::1")?;
        let listen = format!("127.0.0.1:{}", hole.addr.port());
        if let Ok(server) = Server::start(&listen, Plan::new(fixture("ok.http")), None) {
            return Some((hole, server));
        }
    }
    panic!("no port free on both [::1] and 127.0.0.1 in ten tries");
}

#[test]
fn a_black_holed_ipv6_address_loses_the_race_to_ipv4() {
    let Some((hole, server)) = hole_and_server() else {
        return cannot_run_here("no IPv6 loopback (::1) to black-hole");
    };
    let port = hole.addr.port();
    let resolve = format!("race.test:{port}:[::1],127.0.0.1");
    let url = format!("http://race.test:{port}/");
    let run = rawget(&["-v", "-s", "--resolve", &resolve, &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let err = &run.stderr;
    let order = [
        format!("* trying [::1]:{port}\n"),
        format!("* [::1]:{port}: no answer in 200 ms, racing the next address\n"),
        format!("* trying 127.0.0.1:{port} (attempt 2 of 2)\n"),
        format!("* [::1]:{port}: abandoned, 127.0.0.1:{port} won\n"),
        format!("* connected to 127.0.0.1:{port}\n"),
    ];
    let mut at = 0;
    for line in &order {
        let found = err[at..].find(line.as_str());
        assert!(found.is_some(), "no {line:?} after byte {at} in:\n{err}");
        at += found.unwrap_or(0) + line.len();
    }
    let req = server.wait_requests(1);
    assert!(
        req[0].contains(&format!("Host: race.test:{port}\r\n")),
        "{req:?}"
    );
}

#[test]
fn the_attempt_delay_is_the_flag() {
    let Some((hole, _server)) = hole_and_server() else {
        return cannot_run_here("no IPv6 loopback (::1) to black-hole");
    };
    let port = hole.addr.port();
    let resolve = format!("race.test:{port}:::1,127.0.0.1");
    let url = format!("http://race.test:{port}/");
    let run = rawget(&[
        "-v",
        "-s",
        "--happy-eyeballs-timeout-ms",
        "50",
        "--resolve",
        &resolve,
        &url,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "* [::1]:{port}: no answer in 50 ms, racing the next address\n"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn ipv4_only_never_tries_the_ipv6_address() {
    let Some((hole, server)) = hole_and_server() else {
        return cannot_run_here("no IPv6 loopback (::1) to black-hole");
    };
    let port = hole.addr.port();
    let resolve = format!("race.test:{port}:[::1],127.0.0.1");
    let url = format!("http://race.test:{port}/");
    let run = rawget(&["-4", "-v", "-s", "--resolve", &resolve, &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("::1]"), "{}", run.stderr);
    assert!(run
        .stderr
        .contains(&format!("* connected to 127.0.0.1:{port}\n")));
    assert_eq!(server.wait_requests(1).len(), 1);
}

#[test]
fn ipv6_only_waits_on_the_black_hole_and_times_out() {
    let Some((hole, server)) = hole_and_server() else {
        return cannot_run_here("no IPv6 loopback (::1) to black-hole");
    };
    let server = server.expect_unused();
    let port = hole.addr.port();
    let resolve = format!("race.test:{port}:[::1],127.0.0.1");
    let url = format!("http://race.test:{port}/");
    let run = rawget(&[
        "-6",
        "--connect-timeout",
        "0.5",
        "--resolve",
        &resolve,
        &url,
    ]);
    assert_eq!(run.code, 28, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: could not connect to [::1]:{port}: \
             connection timed out (--connect-timeout)\n"
        )
    );
    drop(server);
}

#[test]
fn no_address_of_the_family_asked_for_is_exit_6() {
    let server = serve_fixture("ok.http").expect_unused();
    let port = server.addr().port();
    let resolve = format!("v4only.test:{port}:127.0.0.1");
    let url = format!("http://v4only.test:{port}/");
    let run = rawget(&["-6", "--resolve", &resolve, &url]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: could not resolve host v4only.test: no IPv6 address\n"
    );
}

#[test]
fn ipv4_and_ipv6_together_is_a_usage_error() {
    let run = rawget(&["-4", "-6", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
