//! `-w, --write-out` (issue 16 item 2) beside curl's for the same format
//! string over the same test server. curl is /usr/bin/curl (Debian's curl
//! package; `.ci/run` installs it).

use std::process::Command;

use crate::support::*;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";

/// Every variable whose value is not a time, a speed or a local port (which
/// differ between any two runs), with the escapes and `%%`.
const FORMAT: &str = "%{http_code} %{response_code} %{http_version} %{method} %{scheme} %{url} \
    %{url_effective} %{num_redirects} [%{redirect_url}] %{remote_ip} %{remote_port} %{local_ip} \
    %{content_type} %{size_download} %{size_header} %{size_request} %{size_upload} %{exitcode} \
    %{ssl_verify_result} %{num_headers} %header{x-a} [%header{none}] 100%% \\t|\\n\
    %{header_json}\\n%{stderr}to stderr %{http_code}\\n";

/// The User-Agent curl sends, so that both requests are the same bytes.
pub fn curl_agent() -> String {
    let out = curl(&["--version"]);
    let version = out.stdout_str();
    let version = version.split_whitespace().nth(1).expect("curl --version");
    format!("curl/{version}")
}

fn curl(args: &[&str]) -> Run {
    let mut cmd = Command::new("/usr/bin/curl");
    cmd.args(args);
    assert!(
        std::path::Path::new("/usr/bin/curl").exists(),
        "these tests compare with curl: apt-get install curl"
    );
    run(cmd, &[])
}

/// rawget sending the request curl sends: curl's User-Agent, no
/// `Connection: close`.
fn rawget_as_curl(args: &[&str]) -> Run {
    let agent = curl_agent();
    let mut all = vec!["-s", "-A", agent.as_str(), "-H", "Connection:"];
    all.extend_from_slice(args);
    rawget(&all)
}

#[test]
fn write_out_matches_curls_for_the_same_format() {
    let server = serve(Plan::new(RESPONSE.to_vec()));
    let url = server.url("/x?y=1");
    let ours = rawget_as_curl(&["-o", "/dev/null", "-w", FORMAT, &url]);
    let theirs = curl(&["-s", "-o", "/dev/null", "-w", FORMAT, &url]);
    let requests = server.wait_requests(2);
    assert_eq!(requests[0], requests[1], "the two requests differ");
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    assert_eq!(ours.stderr, theirs.stderr);
    assert!(
        ours.stdout_str().starts_with("200 200 1.1 GET HTTP "),
        "{}",
        ours.stdout_str()
    );
    assert_eq!(ours.stderr, "to stderr 200\n");
}

#[test]
fn write_out_after_a_failure_matches_curls_and_onerror_holds_it_back_on_success() {
    let closed = closed_addr();
    let url = format!("http://{closed}/");
    let format = "%{onerror}%{exitcode} %{http_code} %{num_headers} [%{content_type}]\\n";
    let ours = rawget_as_curl(&["-w", format, &url]);
    let theirs = curl(&["-s", "-w", format, &url]);
    assert_eq!(ours.code, 7);
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    assert_eq!(ours.stdout_str(), "7 000 0 []\n");
    // The error line is still the one line it always is.
    assert!(
        ours.stderr.starts_with("rawget: error: could not connect"),
        "{}",
        ours.stderr
    );

    let server = serve(Plan::new(RESPONSE.to_vec()));
    let ok = rawget_as_curl(&["-o", "/dev/null", "-w", format, &server.url("/")]);
    assert_eq!((ok.code, ok.stdout_str()), (0, String::new()));
}

#[test]
fn errormsg_is_the_error_line_and_exitcode_the_exit_code() {
    let server = serve(Plan::new(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec(),
    ));
    let run = rawget(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{exitcode}|%{errormsg}|%{size_download}",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 18);
    let line = run
        .stderr
        .strip_prefix("rawget: error: ")
        .expect("the error line");
    assert_eq!(run.stdout_str(), format!("18|{}|4", line.trim_end()));
}

#[test]
fn redirects_count_and_the_effective_url_match_curls() {
    let redirect = b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n".to_vec();
    let server = serve_sequence(vec![
        Plan::new(redirect.clone()),
        Plan::new(RESPONSE.to_vec()),
        Plan::new(redirect.clone()),
        Plan::new(RESPONSE.to_vec()),
        Plan::new(redirect.clone()),
        Plan::new(redirect),
    ]);
    let url = server.url("/first");
    let format =
        "%{num_redirects} %{url_effective} %{http_code} [%{redirect_url}] %{size_download}\\n";
    let ours = rawget_as_curl(&["-L", "-o", "/dev/null", "-w", format, &url]);
    let theirs = curl(&["-s", "-L", "-o", "/dev/null", "-w", format, &url]);
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    assert_eq!(
        ours.stdout_str(),
        format!("1 {} 200 [] 5\n", server.url("/next"))
    );
    // Not followed: redirect_url says where it pointed, made absolute.
    let format = "%{num_redirects} %{http_code} [%{redirect_url}]\\n";
    let ours = rawget_as_curl(&["-o", "/dev/null", "-w", format, &url]);
    let theirs = curl(&["-s", "-o", "/dev/null", "-w", format, &url]);
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    assert_eq!(
        ours.stdout_str(),
        format!("0 302 [{}]\n", server.url("/next"))
    );
}

#[test]
fn json_parses_and_agrees_with_curls_on_the_shared_variables() {
    let server = serve(Plan::new(RESPONSE.to_vec()));
    let url = server.url("/j");
    let ours = rawget_as_curl(&["-o", "/dev/null", "-w", "%{json}", &url]);
    let theirs = curl(&["-s", "-o", "/dev/null", "-w", "%{json}", &url]);
    let ours: serde_json::Value = serde_json::from_slice(&ours.stdout).expect("rawget's %{json}");
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).expect("curl's %{json}");
    let ours = ours.as_object().expect("an object");
    let varying = ["local_port", "speed_download"];
    for (key, value) in ours {
        if varying.contains(&key.as_str()) || key.starts_with("time_") {
            assert!(value.is_number(), "{key}: {value}");
            continue;
        }
        assert_eq!(Some(value), theirs.get(key), "{key}");
    }
    assert!(ours.len() >= 28, "{ours:?}");
}

#[test]
fn the_format_can_come_from_a_file_and_unknown_variables_warn() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("fmt"),
        "%{http_code}\\n%{nope}%{size_download}\n",
    )
    .unwrap();
    let server = serve(Plan::new(RESPONSE.to_vec()));
    let run = rawget_in(
        dir.path(),
        &["-s", "-o", "/dev/null", "-w", "@fmt", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_str(), "200\n5\n");
    assert_eq!(
        run.stderr,
        "rawget: warning: unknown --write-out variable: 'nope'\n"
    );

    let run = rawget_in(dir.path(), &["-w", "@missing", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line().contains("-w format file missing"),
        "{}",
        run.stderr
    );
}
