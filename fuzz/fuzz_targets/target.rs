//! What the user typed as a URL, through `Target::parse` and
//! `request::build`. Properties: no panic; the built request cannot be
//! steered by the URL: its head is CRLF-delimited lines with no bare CR or
//! LF, ends at the first blank line (a GET has no body), and its request
//! line is `METHOD SP target SP HTTP/1.1` with exactly two spaces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::request::{self, RequestSpec};
use rawget::target::Target;

fuzz_target!(|input: &str| {
    let Ok(target) = Target::parse(input) else {
        return;
    };
    let _ = target.redacted();
    assert!(target.path_and_query.starts_with('/'), "{:?}", target.path_and_query);
    let req = request::build(&target, &RequestSpec::get());

    let end = req
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("request head ends in a blank line");
    assert_eq!(end + 4, req.len(), "bytes after the request head");
    let head = &req[..end + 2];
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    for line in &lines {
        assert!(line.ends_with(b"\r"), "line without CRLF: {:?}", line.escape_ascii().to_string());
        assert!(!line[..line.len() - 1].contains(&b'\r'), "bare CR");
        assert!(!line.contains(&0), "NUL in the request head");
    }
    let request_line = lines[0];
    let spaces = request_line.iter().filter(|&&b| b == b' ').count();
    assert_eq!(spaces, 2, "request line {:?}", request_line.escape_ascii().to_string());
    assert!(request_line.ends_with(b" HTTP/1.1\r"));
    // Host header line present and a single line.
    assert!(lines.iter().any(|l| l.starts_with(b"Host: ")));

    // A redirect builds its target from the URL the same way.
    let again = Target::from_url(target.url.clone()).expect("a parsed URL is a target");
    assert_eq!(again, target);
});
