//! The handshake on bytes: every reply cut at every point, byte by byte,
//! and exactly as asked, all agreeing.

use std::net::Ipv6Addr;

use super::*;

fn v4(a: &str) -> Dest {
    Dest::Addr(a.parse().unwrap())
}

fn name(n: &str, port: u16) -> Dest {
    Dest::Name(n.to_owned(), port)
}

fn creds(u: &str, p: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    Some((u.as_bytes().to_vec(), p.as_bytes().to_vec()))
}

fn client(
    version: SocksVersion,
    dest: Dest,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
) -> (SocksClient, Vec<u8>) {
    SocksClient::new(version, dest, "example.com:443".into(), credentials).unwrap()
}

/// Plays the handshake against `reply` whole, then cut at every point
/// into two, then a byte at a time, then in pieces exactly as asked;
/// asserts all agree, and returns the conversation.
fn every_cut(
    version: SocksVersion,
    dest: Dest,
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    reply: &[u8],
) -> Conversation {
    let play = |chunk: &mut dyn FnMut(usize) -> usize| {
        let (c, first) = client(version, dest.clone(), credentials.clone());
        converse(c, first, reply, chunk)
    };
    let whole = play(&mut |_| usize::MAX);
    for cut in 0..=reply.len() {
        let mut first = true;
        let split = play(&mut |_| {
            if std::mem::take(&mut first) {
                cut
            } else {
                usize::MAX
            }
        });
        assert_eq!(
            (&split.sent, &split.outcome, split.used),
            (&whole.sent, &whole.outcome, whole.used),
            "cut at {cut}"
        );
    }
    let bytewise = play(&mut |_| 1);
    assert_eq!(
        (&bytewise.sent, &bytewise.outcome),
        (&whole.sent, &whole.outcome)
    );
    assert!(!bytewise.overread);
    let asked = play(&mut |n| n);
    assert_eq!((&asked.sent, &asked.outcome), (&whole.sent, &whole.outcome));
    assert!(!asked.overread, "asked for more than the message had");
    whole
}

fn failure(c: &Conversation) -> (SocksFailure, String) {
    let e = c.outcome.clone().unwrap_err();
    (e.failure.clone(), e.to_string())
}

#[test]
fn socks5h_no_auth_sends_the_name_and_reads_an_ipv4_bound_address() {
    let reply = [&[5, 0][..], &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]].concat();
    let c = every_cut(SocksVersion::V5h, name("example.com", 443), None, &reply);
    assert_eq!(
        c.sent,
        vec![
            vec![5, 1, 0],
            [&[5, 1, 0, 3, 11][..], b"example.com", &[1, 187]].concat()
        ]
    );
    assert_eq!(c.outcome, Ok(Bound::Addr("10.0.0.1:8080".parse().unwrap())));
    assert_eq!(c.used, reply.len());
}

#[test]
fn socks5_sends_the_resolved_address_v4_or_v6() {
    let reply = [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    let c = every_cut(SocksVersion::V5, v4("127.0.0.1:80"), None, &reply);
    assert_eq!(c.sent[1], vec![5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
    let c = every_cut(SocksVersion::V5, v4("[::1]:81"), None, &reply);
    let mut want = vec![5, 1, 0, 4];
    want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    want.extend_from_slice(&[0, 81]);
    assert_eq!(c.sent[1], want);
}

#[test]
fn socks5_reads_ipv6_and_name_bound_addresses() {
    let mut reply = vec![5, 0, 5, 0, 0, 4];
    reply.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    reply.extend_from_slice(&[0, 1]);
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, &reply);
    assert_eq!(c.outcome, Ok(Bound::Addr("[::1]:1".parse().unwrap())));
    let reply = [&[5, 0, 5, 0, 0, 3, 4][..], b"host", &[0, 2]].concat();
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, &reply);
    assert_eq!(c.outcome, Ok(Bound::Name("host".into(), 2)));
    assert_eq!(c.outcome.unwrap().to_string(), "host:2");
}

#[test]
fn socks5_authenticates_with_rfc_1929_when_given_credentials() {
    let reply = [5, 2, 1, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
    let c = every_cut(
        SocksVersion::V5h,
        name("example.com", 443),
        creds("al", "pw!"),
        &reply,
    );
    assert_eq!(c.sent[0], vec![5, 2, 0, 2]);
    assert_eq!(c.sent[1], [&[1, 2][..], b"al", &[3], b"pw!"].concat());
    assert_eq!(c.sent[2][..4], [5, 1, 0, 3]);
    assert!(c.outcome.is_ok());
    // The status's version byte 5, as some proxies send it, is taken.
    let reply = [5, 2, 5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
    let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &reply);
    assert!(c.outcome.is_ok());
    // With credentials, a proxy that wants none skips the sub-negotiation.
    let reply = [5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9];
    let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &reply);
    assert_eq!(c.sent.len(), 2);
    assert!(c.outcome.is_ok());
}

#[test]
fn socks5_auth_failures() {
    let c = every_cut(
        SocksVersion::V5h,
        name("h", 1),
        creds("a", "b"),
        &[5, 2, 1, 1],
    );
    assert_eq!(
        failure(&c),
        (
            SocksFailure::AuthRejected(1),
            "SOCKS5 connect to example.com:443 failed: authentication failed: \
             user name and password rejected (status 1)"
                .into()
        )
    );
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0xff]);
    assert_eq!(
        failure(&c).1,
        "SOCKS5 connect to example.com:443 failed: the proxy requires \
         authentication (give a user in the proxy URL or -U)"
    );
    let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &[5, 0xff]);
    assert_eq!(
        failure(&c).0,
        SocksFailure::NoAcceptableMethod { offered_auth: true }
    );
    // Username/password not offered, or GSSAPI: methods rawget did not offer.
    for (m, cr) in [(2, None), (1, creds("a", "b")), (0x80, None)] {
        let c = every_cut(SocksVersion::V5h, name("h", 1), cr, &[5, m]);
        assert_eq!(failure(&c).0, SocksFailure::UnofferedMethod(m));
    }
    let c = every_cut(
        SocksVersion::V5h,
        name("h", 1),
        creds("a", "b"),
        &[5, 2, 7, 0],
    );
    assert_eq!(
        failure(&c).0,
        SocksFailure::BadVersion {
            what: "authentication reply",
            want: 1,
            got: 7
        }
    );
}

#[test]
fn every_socks5_reply_code_says_its_meaning() {
    let meanings = [
        (1, "general SOCKS server failure"),
        (2, "connection not allowed by ruleset"),
        (3, "network unreachable"),
        (4, "host unreachable"),
        (5, "connection refused by destination host"),
        (6, "TTL expired"),
        (7, "command not supported"),
        (8, "address type not supported"),
        (9, "unknown SOCKS5 reply code"),
        (255, "unknown SOCKS5 reply code"),
    ];
    for (code, meaning) in meanings {
        // Decided on REP: the rest of the reply need not come.
        let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0, 5, code]);
        assert_eq!(
            failure(&c),
            (
                SocksFailure::Refused5(code),
                format!("SOCKS5 connect to example.com:443 failed: {meaning} (reply {code})")
            )
        );
    }
}

#[test]
fn socks5_reply_fields_are_checked() {
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[4, 0]);
    assert_eq!(
        failure(&c).1,
        "SOCKS5 connect to example.com:443 failed: not a SOCKS reply: \
         the SOCKS5 method selection has version 4, not 5"
    );
    // An HTTP proxy's answer fails on its first byte.
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, b"HTTP/1.1 400 Bad");
    assert_eq!(c.used, 0);
    assert!(matches!(
        failure(&c).0,
        SocksFailure::BadVersion { got: b'H', .. }
    ));
    let c = every_cut(SocksVersion::V5h, name("h", 1), None, &[5, 0, 0, 0]);
    assert!(matches!(
        failure(&c).0,
        SocksFailure::BadVersion { got: 0, .. }
    ));
    for atyp in [0, 2, 5, 255] {
        let c = every_cut(
            SocksVersion::V5h,
            name("h", 1),
            None,
            &[5, 0, 5, 0, 0, atyp],
        );
        assert_eq!(failure(&c).0, SocksFailure::BadAddressType(atyp));
    }
}

#[test]
fn a_close_anywhere_in_a_socks5_handshake_names_the_step() {
    let full = [5, 2, 1, 0, 5, 0, 0, 3, 2, b'h', b'i', 0, 1];
    let steps = [
        (0, "SOCKS5 method negotiation", 0),
        (1, "SOCKS5 method negotiation", 1),
        (2, "SOCKS5 authentication", 0),
        (3, "SOCKS5 authentication", 1),
        (4, "SOCKS5 connect reply", 0),
        (8, "SOCKS5 connect reply", 4),
        (12, "SOCKS5 connect reply", 8),
    ];
    for (len, what, got) in steps {
        let c = every_cut(
            SocksVersion::V5h,
            name("h", 1),
            creds("a", "b"),
            &full[..len],
        );
        assert_eq!(failure(&c).0, SocksFailure::Closed { what, got }, "{len}");
    }
    let c = every_cut(SocksVersion::V5h, name("h", 1), creds("a", "b"), &full);
    assert_eq!(c.outcome, Ok(Bound::Name("hi".into(), 1)));
}

#[test]
fn socks5_refuses_what_it_cannot_carry() {
    let long = "a".repeat(256);
    let e = SocksClient::new(SocksVersion::V5h, name(&long, 1), "x:1".into(), None).unwrap_err();
    assert_eq!(e.failure, SocksFailure::NameTooLong(256));
    let ok = "a".repeat(255);
    let (_, first) = SocksClient::new(SocksVersion::V5h, name(&ok, 1), "x:1".into(), None).unwrap();
    assert_eq!(first, vec![5, 1, 0]);
    let e = SocksClient::new(
        SocksVersion::V5,
        v4("1.2.3.4:5"),
        "x:1".into(),
        creds(&long, "p"),
    )
    .unwrap_err();
    assert_eq!(e.failure, SocksFailure::CredentialTooLong);
}

#[test]
fn socks4_sends_an_ipv4_address_and_the_user_id() {
    let reply = [0, 90, 0, 0, 0, 0, 0, 0];
    let c = every_cut(
        SocksVersion::V4,
        v4("127.0.0.1:8080"),
        creds("bob", "unused"),
        &reply,
    );
    assert_eq!(
        c.sent,
        vec![vec![4, 1, 0x1f, 0x90, 127, 0, 0, 1, b'b', b'o', b'b', 0]]
    );
    assert_eq!(c.outcome, Ok(Bound::Addr("0.0.0.0:0".parse().unwrap())));
    let e = SocksClient::new(SocksVersion::V4, v4("[::1]:1"), "h:1".into(), None).unwrap_err();
    assert_eq!(e.failure, SocksFailure::NoIpv4);
    assert!(e.to_string().starts_with(
        "SOCKS4 connect to h:1 failed: the host has no IPv4 address, and SOCKS4 carries only IPv4"
    ));
}

#[test]
fn socks4a_sends_the_name_after_0_0_0_1() {
    let reply = [0, 90, 0, 80, 10, 1, 2, 3];
    let c = every_cut(SocksVersion::V4a, name("example.com", 443), None, &reply);
    assert_eq!(
        c.sent[0],
        [&[4, 1, 1, 187, 0, 0, 0, 1, 0][..], b"example.com\0"].concat()
    );
    assert_eq!(c.outcome, Ok(Bound::Addr("10.1.2.3:80".parse().unwrap())));
}

#[test]
fn socks4_replies_are_checked() {
    for (code, meaning) in [
        (91, "request rejected or failed"),
        (
            92,
            "request rejected: the proxy cannot reach identd on the client",
        ),
        (93, "request rejected: identd reports a different user id"),
        (0, "unknown SOCKS4 reply code"),
        (200, "unknown SOCKS4 reply code"),
    ] {
        let c = every_cut(SocksVersion::V4a, name("h", 1), None, &[0, code, 0, 0]);
        assert_eq!(
            failure(&c).1,
            format!("SOCKS4a connect to example.com:443 failed: {meaning} (reply {code})")
        );
    }
    let c = every_cut(
        SocksVersion::V4,
        v4("1.2.3.4:5"),
        None,
        &[4, 90, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(
        failure(&c).0,
        SocksFailure::BadVersion {
            what: "SOCKS4 reply",
            want: 0,
            got: 4
        }
    );
    let c = every_cut(SocksVersion::V4, v4("1.2.3.4:5"), None, &[0, 90, 0]);
    assert_eq!(
        failure(&c).0,
        SocksFailure::Closed {
            what: "SOCKS4 reply",
            got: 3
        }
    );
}

#[test]
fn feeding_after_the_end_is_an_error_not_a_panic() {
    let (mut c, _) = client(SocksVersion::V4, v4("1.2.3.4:5"), None);
    let fed = c.feed(&[0, 90, 0, 0, 0, 0, 0, 0, 1, 2]).unwrap();
    assert_eq!(fed.consumed, 8);
    assert_eq!(c.feed(&[1, 2]).unwrap_err().failure, SocksFailure::Ended);
}

#[test]
fn notes_say_the_method_and_the_auth() {
    let (mut c, _) = client(SocksVersion::V5h, name("h", 1), creds("a", "b"));
    let fed = c.feed(&[5, 2]).unwrap();
    assert_eq!(
        fed.note.unwrap().to_string(),
        "SOCKS5 method: username/password (RFC 1929)"
    );
    let fed = c.feed(&[1, 0]).unwrap();
    assert_eq!(fed.note, Some(Note::AuthOk));
}
