//! Credentials (issue 12 item 7): `-u USER[:PASSWORD]` (the password asked
//! for on the terminal when left out), `--netrc`, `--netrc-file`,
//! `--netrc-optional`, and which hop of a redirect gets them
//! (`--location-trusted`). Every test asserts the `Authorization` bytes the
//! replay server received.

use std::process::Command;

use crate::support::*;

/// `Authorization: Basic` for `user:password`, as the line is sent.
fn basic(credentials: &str) -> String {
    const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = credentials.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("\r\nAuthorization: Basic {out}\r\n")
}

/// The Authorization lines of the one request `server` received.
fn authorizations(server: &Server) -> Vec<String> {
    let requests = server.wait_requests(1);
    assert_eq!(requests.len(), 1, "one request");
    requests[0]
        .split("\r\n")
        .filter(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .map(str::to_owned)
        .collect()
}

/// rawget with `args`, `HOME` and `NETRC` as given (`None`: unset), in a
/// new session without a controlling terminal, so that nothing is asked.
fn rawget_detached(args: &[&str], home: Option<&std::path::Path>, netrc: Option<&str>) -> Run {
    let mut cmd = Command::new(BIN);
    without_machine_proxies(&mut cmd);
    cmd.args(args).env_remove("NETRC").env_remove("HOME");
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    if let Some(netrc) = netrc {
        cmd.env("NETRC", netrc);
    }
    without_a_terminal(&mut cmd);
    run(cmd, b"")
}

#[test]
fn user_sends_basic_auth_and_wins_over_the_urls() {
    let server = serve_fixture("ok.http");
    let url = format!("http://url:creds@{}/", server.addr());
    let run = rawget(&["-s", "-o", "/dev/null", "-u", "alice:s3cret:x", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        authorizations(&server),
        [basic("alice:s3cret:x").trim().to_owned()]
    );
}

#[test]
fn user_without_password_and_no_terminal_sends_an_empty_password() {
    let server = serve_fixture("ok.http");
    let run = rawget_detached(
        &["-s", "-o", "/dev/null", "-u", "alice", &server.url("/")],
        None,
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "nothing asked, nothing said");
    assert!(server.requests()[0]
        .windows(basic("alice:").len())
        .any(|w| w == basic("alice:").as_bytes()));
}

#[test]
fn user_without_password_asks_on_the_terminal_with_echo_off() {
    let server = serve_fixture("ok.http");
    let url = server.url("/");
    let prompt = "Enter host password for user 'alice':";
    let Some((run, screen)) = run_with_a_terminal(
        &["-s", "-o", "/dev/null", "-u", "alice", &url],
        prompt,
        b"typed s3cret\n",
    ) else {
        cannot_run_here("no pseudo-terminal (openpty failed)");
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr, "",
        "the prompt goes to the terminal, not stderr"
    );
    assert_eq!(screen.matches(prompt).count(), 1, "{screen:?}");
    assert!(
        !screen.contains("s3cret"),
        "the password was echoed: {screen:?}"
    );
    assert_eq!(
        authorizations(&server),
        [basic("alice:typed s3cret").trim().to_owned()]
    );
}

// ---------- netrc ----------

const NETRC: &str = "# rawget's test netrc\n\
    machine other.example login nobody password nothing\n\
    macdef init\nmachine 127.0.0.1 login macro password fake\n\n\
    machine 127.0.0.1 login alice password \"a l i c e\"\n\
    machine 127.0.0.1\n  login bob\n  password b0b\n\
    default login anon password guest\n";

#[test]
fn netrc_in_home_gives_the_hosts_first_entry() {
    let home = scratch();
    std::fs::write(home.path().join(".netrc"), NETRC).unwrap();
    fetches_as_alice(&["--netrc"], Some(home.path()), None);
}

#[test]
fn netrc_env_and_netrc_file_name_the_file() {
    let dir = scratch();
    let file = dir.path().join("creds");
    std::fs::write(&file, NETRC).unwrap();
    let file = file.to_str().unwrap();
    // $NETRC (curl 8.16), with a HOME that has no .netrc.
    fetches_as_alice(&["-n"], Some(dir.path()), Some(file));
    // --netrc-file, no --netrc needed.
    fetches_as_alice(&["--netrc-file", file], None, None);
}

/// Fetches with `args` (`-s -o /dev/null` before them, the server's URL
/// after), HOME and $NETRC as given, and checks that the one request
/// carried NETRC's first entry for 127.0.0.1 (alice), and only it.
fn fetches_as_alice(args: &[&str], home: Option<&std::path::Path>, netrc: Option<&str>) {
    let server = serve_fixture("ok.http");
    let url = server.url("/");
    let all = [&["-s", "-o", "/dev/null"], args, &[url.as_str()]].concat();
    let run = rawget_detached(&all, home, netrc);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    assert_eq!(
        authorizations(&server),
        [basic("alice:a l i c e").trim().to_owned()],
        "{args:?}"
    );
}

#[test]
fn the_urls_user_chooses_the_netrc_entry_and_u_and_the_url_win() {
    let dir = scratch();
    let file = dir.path().join("creds");
    std::fs::write(&file, NETRC).unwrap();
    let file = file.to_str().unwrap();
    let cases: [(&[&str], &str, &str); 4] = [
        (&[], "bob@", "bob:b0b"),
        (&[], "carol@", "carol:"),
        (&[], "url:pw@", "url:pw"),
        (&["-u", "flag:pw"], "bob@", "flag:pw"),
    ];
    for (extra, userinfo, want) in cases {
        let server = serve_fixture("ok.http");
        let url = format!("http://{userinfo}{}/", server.addr());
        let mut args = vec!["-s", "-o", "/dev/null", "--netrc-file", file];
        args.extend_from_slice(extra);
        args.push(&url);
        let run = rawget_detached(&args, None, None);
        assert_eq!(run.code, 0, "{extra:?} {userinfo}: {}", run.stderr);
        assert_eq!(
            authorizations(&server),
            [basic(want).trim().to_owned()],
            "{extra:?} {userinfo}"
        );
    }
}

#[test]
fn a_missing_netrc_is_exit_26_unless_optional() {
    let dir = scratch();
    let missing = dir.path().join("none");
    let missing = missing.to_str().unwrap();
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget_detached(&["--netrc-file", missing, &server.url("/")], None, None);
    assert_eq!(run.code, 26, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: could not read the netrc file {missing}: No such file or directory\n"
        )
    );
    let run = rawget_detached(&["--netrc", &server.url("/")], Some(dir.path()), None);
    assert_eq!(run.code, 26, "{}", run.stderr);
    drop(server);

    let server = serve_fixture("ok.http");
    let run = rawget_detached(
        &[
            "-s",
            "-o",
            "/dev/null",
            "--netrc-optional",
            &server.url("/"),
        ],
        Some(dir.path()),
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(authorizations(&server), Vec::<String>::new());
}

// ---------- redirects ----------

fn redirect_to(location: &str) -> Plan {
    Plan::new(
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes(),
    )
}

#[test]
fn credentials_follow_a_redirect_on_the_same_origin_only() {
    // Same origin: both requests carry them.
    let server = serve_sequence(vec![redirect_to("/next"), Plan::new(fixture("ok.http"))]);
    let run = rawget(&["-s", "-o", "/dev/null", "-L", "-u", "u:p", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = server.wait_requests(2);
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert!(r.contains(&basic("u:p")), "{r}");
    }

    // Another port is another origin: the second server gets nothing,
    // unless --location-trusted.
    for (trusted, sent) in [(false, false), (true, true)] {
        let second = serve_fixture("ok.http");
        let first = serve(redirect_to(&second.url("/")));
        let mut args = vec!["-s", "-o", "/dev/null", "-L", "-u", "u:p"];
        if trusted {
            args.push("--location-trusted");
        }
        let url = first.url("/");
        args.push(&url);
        let run = rawget(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(authorizations(&first), [basic("u:p").trim().to_owned()]);
        let want = if sent {
            vec![basic("u:p").trim().to_owned()]
        } else {
            vec![]
        };
        assert_eq!(
            authorizations(&second),
            want,
            "--location-trusted {trusted}"
        );
    }
}

#[test]
fn user_from_a_config_file_stays_out_of_the_process_list() {
    let dir = scratch();
    let config = dir.path().join("creds.cfg");
    std::fs::write(&config, "user = \"cfg:pa ss\"\n").unwrap();
    let server = serve_fixture("ok.http");
    let run = rawget(&[
        "-s",
        "-o",
        "/dev/null",
        "-K",
        config.to_str().unwrap(),
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        authorizations(&server),
        [basic("cfg:pa ss").trim().to_owned()]
    );
}
