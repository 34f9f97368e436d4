//! Requests as people send them (issue 15): each case is run through the
//! built binary against the recording test server, and, where curl can send
//! the same command, compared byte for byte with what curl (`/usr/bin/curl`,
//! Debian's package) sends. The two differ in two lines only, normalised
//! away: the User-Agent, and rawget's `Connection: close`.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The curl the tests compare with: Debian's, as users meet it.
const CURL: &str = "/usr/bin/curl";

/// What `program ARGS URL -s -o /dev/null` (run in `dir`, `input` on
/// stdin) sends to the server, normalised.
fn sends(program: &str, dir: &Path, args: &[&str], input: &[u8]) -> String {
    let server = serve_fixture("ok.http");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .arg(server.url("/x"))
        .args(["-s", "-o", "/dev/null"])
        .current_dir(dir);
    let out = run(cmd, input);
    assert_eq!(out.code, 0, "{program} {args:?}: {}", out.stderr);
    let requests = server.wait_requests(1);
    normalise(&requests[0], server.addr())
}

/// One User-Agent and server address for both, and no `Connection: close`
/// (rawget's default, not curl's).
fn normalise(request: &str, addr: std::net::SocketAddr) -> String {
    let mut request = request.replace(&addr.to_string(), "SERVER");
    // A multipart boundary is random in both: one name for it.
    if let Some(at) = request.find("; boundary=") {
        let start = at + "; boundary=".len();
        let end = request[start..]
            .find("\r\n")
            .map_or(request.len(), |e| start + e);
        let boundary = request[start..end].to_owned();
        request = request.replace(&boundary, "BOUNDARY");
    }
    request
        .split_inclusive("\r\n")
        .filter(|l| *l != "Connection: close\r\n")
        .map(|l| {
            if l.starts_with("User-Agent: ") {
                "User-Agent: UA\r\n"
            } else {
                l
            }
        })
        .collect()
}

/// rawget and curl send the same bytes for `args`; returns them.
#[track_caller]
pub(crate) fn same_as_curl(dir: &Path, args: &[&str], input: &[u8]) -> String {
    assert!(
        Path::new(CURL).exists(),
        "this test compares with curl: install it (apt-get install curl)"
    );
    let ours = sends(BIN, dir, args, input);
    let curls = sends(CURL, dir, args, input);
    assert_eq!(ours, curls, "rawget and curl differ for {args:?}");
    ours
}

#[test]
fn json_is_sent_as_curl_sends_it() {
    let dir = scratch();
    std::fs::write(dir.path().join("j.json"), "{\"f\":\n1}\n").unwrap();
    let r = same_as_curl(
        dir.path(),
        &["--json", "{\"a\":1}", "--json", "{\"b\":2}"],
        b"",
    );
    assert!(
        r.starts_with("POST /x HTTP/1.1\r\n")
            && r.ends_with(
                "Content-Type: application/json\r\nAccept: application/json\r\n\
                 Content-Length: 14\r\n\r\n{\"a\":1}{\"b\":2}"
            ),
        "{r}"
    );
    // From a file and stdin, byte for byte (newlines kept).
    let r = same_as_curl(
        dir.path(),
        &["--json", "@j.json", "--json", "@-"],
        b"[\r\n]",
    );
    assert!(
        r.ends_with("Content-Length: 13\r\n\r\n{\"f\":\n1}\n[\r\n]"),
        "{r}"
    );
    // A -H of either name wins; -H lines come before the JSON ones.
    same_as_curl(
        dir.path(),
        &["--json", "1", "-H", "X-A: 1", "-H", "Accept: text/x"],
        b"",
    );
    // With -d: the JSON text first, then `&`.
    let r = same_as_curl(dir.path(), &["--json", "{}", "-d", "x=1"], b"");
    assert!(r.ends_with("\r\n\r\n{}&x=1"), "{r}");
}

#[test]
fn json_file_that_cannot_be_read_is_exit_26() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["--json", "@/nonexistent/j.json", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line()
            .contains("could not read data file /nonexistent/j.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_is_the_summary_and_json_no_longer_is() {
    // What a new user typed (issue 15): `--json DATA` sends DATA, and
    // writes no file named after it.
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--json",
            "{\"a\":1}",
            "--report",
            "r.json",
            "-o",
            "b",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(listing(dir.path()), ["b", "r.json"]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(v["status"], 200);
    assert!(server.wait_requests(1)[0].ends_with("\r\n\r\n{\"a\":1}"));
}

/// The form type as a `-H`, so that both put it where `-H` lines go: with
/// no `-H`, curl sends `Content-Length` before `Content-Type` and rawget
/// after it (its order before issue 15, kept; the bytes otherwise agree).
const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

#[test]
fn data_urlencode_in_all_of_curls_forms() {
    let dir = scratch();
    std::fs::write(dir.path().join("u.txt"), "a b\nc&d=\n").unwrap();
    let r = same_as_curl(
        dir.path(),
        &[
            "-H",
            FORM,
            "--data-urlencode",
            "a b",
            "--data-urlencode",
            "=c&d",
            "--data-urlencode",
            "n=x y=z",
            "--data-urlencode",
            "@u.txt",
            "--data-urlencode",
            "f@u.txt",
            "--data-urlencode",
            "e@x=y",
            "--data-urlencode",
            "s@-",
        ],
        "é/?".as_bytes(),
    );
    assert!(
        r.ends_with(
            "\r\n\r\na+b&c%26d&n=x+y%3Dz&a+b%0Ac%26d%3D%0A&f=a+b%0Ac%26d%3D%0A&e@x=y&s=%C3%A9%2F%3F"
        ),
        "{r}"
    );
}

#[test]
fn data_raw_has_no_file_meaning_and_pieces_join_with_ampersands() {
    let dir = scratch();
    let r = same_as_curl(
        dir.path(),
        &["-H", FORM, "-d", "a=1", "-d", "b=2", "--data-raw", "@c"],
        b"",
    );
    assert!(r.ends_with("Content-Length: 10\r\n\r\na=1&b=2&@c"), "{r}");
}

#[test]
fn get_puts_the_data_in_the_query() {
    let dir = scratch();
    // After the URL's own query, with `&`; no body, no Content-Type.
    let server = serve_fixture("ok.http");
    let url = server.url("/x?q=0");
    for args in [
        &["-G", "-d", "a=1", "--data-urlencode", "b=x y"][..],
        &["-G", "-I", "-d", "a=1"][..],
    ] {
        let ours = sends(BIN, dir.path(), args, b"");
        let curls = sends(CURL, dir.path(), args, b"");
        assert_eq!(ours, curls, "{args:?}");
        assert!(!ours.contains("Content-"), "{ours}");
    }
    let run = rawget(&["-s", "-G", "-d", "a=1", "-o", "/dev/null", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        server.wait_requests(1)[0].starts_with("GET /x?q=0&a=1 HTTP/1.1\r\n"),
        "{:?}",
        server.requests()
    );
    let r = sends(BIN, dir.path(), &["-G", "-I", "-d", "a=1"], b"");
    assert!(r.starts_with("HEAD /x?a=1 HTTP/1.1\r\n"), "{r}");
}

#[test]
fn referer_and_headers_from_a_file() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("h.txt"),
        "X-One: 1\r\nX-Two: 2\n\nX-Three: 3\n",
    )
    .unwrap();
    let r = same_as_curl(
        dir.path(),
        &["-e", "http://ref/", "-H", "@h.txt", "-H", "X-Four: 4"],
        b"",
    );
    assert!(
        r.ends_with(
            "Accept: */*\r\nReferer: http://ref/\r\nX-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\nX-Four: 4\r\n\r\n"
        ),
        "{r}"
    );
    same_as_curl(dir.path(), &["-H", "@-"], b"X-In: stdin\n");
}

#[test]
fn a_header_file_that_cannot_be_read_or_parsed_is_one_line() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["-H", "@/nonexistent/h", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert_eq!(
        run.error_line(),
        "rawget: error: could not read header file /nonexistent/h: No such file or directory\n"
    );
    let dir = scratch();
    std::fs::write(dir.path().join("h"), "Good: 1\nno colon here\n").unwrap();
    let run = rawget_in(dir.path(), &["-H", "@h", &server.url("/")]);
    assert_eq!(run.code, 2);
    assert!(
        run.error_line().contains("h line 2: bad -H"),
        "{}",
        run.stderr
    );
}

#[test]
fn forms_are_sent_as_curl_sends_them() {
    let dir = scratch();
    std::fs::write(dir.path().join("up.txt"), "hello\n").unwrap();
    std::fs::write(dir.path().join("a.png"), "x").unwrap();
    std::fs::write(dir.path().join("j.json"), "{}\n").unwrap();
    let r = same_as_curl(
        dir.path(),
        &[
            "-F",
            "a=1",
            "-F",
            "f=@up.txt",
            "-F",
            "g=@a.png;type=x/y;filename=n\"q.bin",
            "-F",
            "h=<up.txt",
            "-F",
            "e=@j.json",
            "--form-string",
            "s=@lit;type=z",
        ],
        b"",
    );
    assert!(
        r.contains(
            "Content-Type: multipart/form-data; boundary=BOUNDARY\r\n\r\n\
             --BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        ) && r.ends_with("name=\"s\"\r\n\r\n@lit;type=z\r\n--BOUNDARY--\r\n"),
        "{r}"
    );
    let boundary = |run: &Run| {
        let out = run.stdout_str();
        let at = out.find("boundary=").unwrap() + 9;
        out[at..at + 40].to_owned()
    };
    // Fresh each time, and in curl's shape.
    let one = rawget(&["--dry-run", "-F", "a=1", "http://h/"]);
    let two = rawget(&["--dry-run", "-F", "a=1", "http://h/"]);
    assert_ne!(boundary(&one), boundary(&two));
    assert!(boundary(&one).starts_with(&"-".repeat(24)));
}

#[test]
fn a_bad_form_argument_is_one_line() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["-F", "novalue", &server.url("/")]);
    assert_eq!(run.code, 2);
    assert!(
        run.error_line().contains("bad -F \"novalue\""),
        "{}",
        run.stderr
    );
    let run = rawget(&["-F", "f=@/nonexistent/f", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line()
            .contains("could not read form file /nonexistent/f"),
        "{}",
        run.stderr
    );
    let run = rawget(&["-F", "a=1", "-d", "x", &server.url("/")]);
    assert_eq!(run.code, 2);
}

#[test]
fn a_cookie_string_is_sent_as_curl_sends_it() {
    let dir = scratch();
    let r = same_as_curl(
        dir.path(),
        &["-e", "http://r/", "-b", "a=1; b=2", "-H", "X: 1"],
        b"",
    );
    assert!(
        r.ends_with("Accept: */*\r\nReferer: http://r/\r\nCookie: a=1; b=2\r\nX: 1\r\n\r\n"),
        "{r}"
    );
}

#[test]
fn cookies_from_a_file_match_the_request_and_the_jar_is_written() {
    let dir = scratch();
    let file = "# Netscape HTTP Cookie File\n\
                127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts\n\
                127.0.0.1\tFALSE\t/x\tFALSE\t4102444800\tdeep\td\n\
                127.0.0.1\tFALSE\t/other\tFALSE\t4102444800\telsewhere\te\n\
                127.0.0.1\tFALSE\t/\tTRUE\t4102444800\tsecure\tz\n";
    std::fs::write(dir.path().join("in.txt"), file).unwrap();
    // curl reads the same file the same way (cookie order aside).
    let ours = sends(BIN, dir.path(), &["-b", "in.txt"], b"");
    let curls = sends(CURL, dir.path(), &["-b", "in.txt"], b"");
    let cookie = |r: &str| {
        let line = r.lines().find(|l| l.starts_with("Cookie: ")).unwrap_or("");
        let mut v: Vec<String> = line["Cookie: ".len().min(line.len())..]
            .split("; ")
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    // /other does not match /x; the Secure one goes to 127.0.0.1 over http,
    // a loopback being a secure context for both.
    assert_eq!(cookie(&ours), ["deep=d", "secure=z", "session=s"], "{ours}");
    assert_eq!(cookie(&ours), cookie(&curls), "{curls}");
    assert!(
        ours.contains("Cookie: deep=d; "),
        "longest path first: {ours}"
    );
    // -j leaves the session cookie out.
    let ours = sends(BIN, dir.path(), &["-j", "-b", "in.txt"], b"");
    assert_eq!(cookie(&ours), ["deep=d", "secure=z"], "{ours}");
    // The jar: what the file held plus what the server set (ok.http sets
    // no cookie, so the file's own), in curl's format.
    let server = serve_fixture("ok.http");
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-b",
            "in.txt",
            "-c",
            "out.txt",
            "-o",
            "/dev/null",
            &server.url("/x"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let jar = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert!(jar.starts_with("# Netscape HTTP Cookie File\n"), "{jar}");
    assert!(
        jar.contains("127.0.0.1\tFALSE\t/x\tFALSE\t4102444800\tdeep\td\n"),
        "{jar}"
    );
    assert!(
        jar.contains("127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts\n"),
        "{jar}"
    );
    // A -b file that does not exist is skipped, as curl skips it.
    let ours = sends(
        BIN,
        dir.path(),
        &["-b", "missing.txt", "-c", "new.txt"],
        b"",
    );
    assert!(!ours.contains("Cookie"), "{ours}");
}

#[test]
fn cookies_set_by_a_redirect_go_with_the_next_hop_and_into_the_jar() {
    let redirect = "HTTP/1.1 302 Found\r\nLocation: /next\r\nSet-Cookie: hop=1; Path=/\r\n\
                    Set-Cookie: gone=1; Path=/; Max-Age=0\r\nContent-Length: 0\r\n\r\n";
    let final_ = "HTTP/1.1 200 OK\r\nSet-Cookie: last=2; Path=/; Max-Age=3600\r\nContent-Length: 2\r\n\r\nok";
    let server = serve_sequence(vec![Plan::new(redirect), Plan::new(final_)]);
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-L",
            "-c",
            "jar",
            "-o",
            "/dev/null",
            &server.url("/start"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = server.wait_requests(2);
    assert!(!requests[0].contains("Cookie"), "{}", requests[0]);
    assert!(
        requests[1].contains("\r\nCookie: hop=1\r\n"),
        "{}",
        requests[1]
    );
    let jar = std::fs::read_to_string(dir.path().join("jar")).unwrap();
    let names: Vec<&str> = jar
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').nth(5).unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["hop", "last"], "{jar}");
}

#[test]
fn a_config_file_is_read_as_curl_reads_it() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("recipe"),
        "# a debugging recipe\n\
         header = \"X-Trace: on \\\"1\\\"\"\n\
         -H \"Accept: text/html\"\n\
         user-agent: recipe/1\n\
         referer http://from/\n\
         data-urlencode = \"q=a b\"\n",
    )
    .unwrap();
    let r = same_as_curl(dir.path(), &["-H", FORM, "-K", "recipe"], b"");
    assert!(
        r.contains("User-Agent: UA\r\n")
            && r.contains("\r\nX-Trace: on \"1\"\r\nAccept: text/html\r\n")
            && r.ends_with("\r\n\r\nq=a+b"),
        "{r}"
    );
    // `url` in the file, and -K - from stdin.
    let run = rawget_input(
        &["--dry-run", "-K", "-"],
        b"url = \"http://h/from-config\"\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .stdout_str()
        .starts_with("GET /from-config HTTP/1.1\r\n"));
}

#[test]
fn a_config_file_that_cannot_be_read_or_parsed_is_one_line() {
    let run = rawget(&["-K", "/nonexistent/k", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line()
            .contains("could not read config file /nonexistent/k"),
        "{}",
        run.stderr
    );
    let run = rawget_input(&["-K", "-", "http://127.0.0.1:9/"], b"header \"open\n");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.error_line(),
        "rawget: error: - line 1: unterminated quoted value\n"
    );
}

#[test]
fn data_pieces_are_joined_in_command_line_order_as_curl_joins_them() {
    let dir = scratch();
    let r = same_as_curl(
        dir.path(),
        &[
            "-H",
            FORM,
            "-d",
            "a=1",
            "--data-binary",
            "b",
            "--data-urlencode",
            "c=x y",
            "-d",
            "d",
        ],
        b"",
    );
    assert!(r.ends_with("\r\n\r\na=1&b&c=x+y&d"), "{r}");
    let r = same_as_curl(
        dir.path(),
        &[
            "-d",
            "a",
            "--json",
            "[1",
            "--json",
            ",2]",
            "--data-raw",
            "@z",
        ],
        b"",
    );
    assert!(r.ends_with("\r\n\r\na[1,2]&@z"), "{r}");
}
