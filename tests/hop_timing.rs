//! Timing per hop (issue 16 item 8): under -L each hop is timed from its
//! own start, so a later hop's DNS lookup never shows after an earlier
//! hop's first byte (`-L --timing` once said first byte 9.9 ms, dns
//! 14.3 ms); the whole is reported beside the hops.

use std::time::Duration;

use crate::support::*;

/// The first hop's reply waits this long, so its first byte is late.
const SLOW: Duration = Duration::from_millis(300);

fn redirect_then_ok(runs: usize) -> Server {
    let redirect = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n".to_vec();
    let plans = (0..runs)
        .flat_map(|_| {
            [
                Plan::new(redirect.clone()).delay(SLOW),
                Plan::new(fixture("ok.http")),
            ]
        })
        .collect();
    serve_sequence(plans)
}

/// `dns 0.020 ms` -> 0.02; `tls -` -> None.
fn field(line: &str, name: &str) -> Option<f64> {
    let rest = line.split(&format!("{name} ")).nth(1)?;
    rest.split(" ms").next()?.parse().ok()
}

#[test]
fn timing_under_redirects_times_each_hop_from_its_own_start() {
    let server = redirect_then_ok(1);
    let run = rawget(&["-s", "-L", "--timing", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hops: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("* hop "))
        .collect();
    assert_eq!(hops.len(), 2, "{}", run.stderr);
    let mut sum = 0.0;
    for line in &hops {
        let steps: Vec<f64> = ["dns", "connect", "sent", "first byte", "total"]
            .iter()
            .map(|name| field(line, name).unwrap_or_else(|| panic!("{name} in {line}")))
            .collect();
        assert!(
            steps.windows(2).all(|w| w[0] <= w[1]),
            "out of order: {line}"
        );
        sum += steps[4];
    }
    let first_byte_1 = field(hops[0], "first byte").unwrap();
    let dns_2 = field(hops[1], "dns").unwrap();
    assert!(first_byte_1 >= SLOW.as_millis() as f64, "{}", hops[0]);
    assert!(
        dns_2 < first_byte_1,
        "hop 2's dns on hop 1's clock: {}",
        run.stderr
    );
    let total: f64 = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("* total:"))
        .and_then(|t| t.trim().trim_end_matches(" ms").parse().ok())
        .expect("the whole's total");
    assert!(total >= sum, "whole {total} < hops {sum}: {}", run.stderr);
}

#[test]
fn the_report_and_write_out_carry_each_hops_times_and_the_whole() {
    let server = redirect_then_ok(2);
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-L",
            "--report",
            "r.json",
            "-o",
            "/dev/null",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let hop = |i: usize, key: &str| report["hops"][i]["timings"][key].as_f64();
    let first_byte_1 = hop(0, "first_byte").expect("hop 1 first byte");
    assert!(first_byte_1 >= SLOW.as_millis() as f64, "{report}");
    assert!(hop(1, "dns").expect("hop 2 dns") < first_byte_1, "{report}");
    let whole = report["timings"]["total"].as_f64().expect("whole total");
    let sum = hop(0, "total").unwrap() + hop(1, "total").unwrap();
    assert!(whole >= sum, "{report}");

    let format = "%{time_redirect} %{time_namelookup} %{time_connect} %{time_pretransfer} \
                  %{time_starttransfer} %{time_total}";
    let run = rawget(&[
        "-s",
        "-L",
        "-o",
        "/dev/null",
        "-w",
        format,
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let times: Vec<f64> = run
        .stdout_str()
        .split(' ')
        .map(|t| t.parse().expect("seconds"))
        .collect();
    assert!(times[0] >= SLOW.as_secs_f64(), "time_redirect: {times:?}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {times:?}"
    );
}
