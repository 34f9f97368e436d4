//! The SOCKS client handshake fed arbitrary proxy replies, in pieces.
//!
//! Input: byte 0 picks the handshake (bits 0-1: socks4, socks4a, socks5,
//! socks5h; bit 2: with credentials; bit 3: an IPv6 destination); byte 1
//! says how many of the next bytes are piece sizes (0 to 7; each piece is
//! that byte + 1 long, cycling; none means one byte at a time); the rest
//! is everything the proxy sends. Properties: no panic; fed in those
//! pieces, a byte at a time, or exactly as much as the client asks for,
//! the handshake sends the same messages, ends the same way and consumes
//! the same bytes as when it is fed everything at once; it never asks for
//! zero bytes, nor (fed exactly what it asks for) for more than the
//! awaited message has; it consumes no more than was sent; every message
//! it sends begins with its version byte (RFC 1929's with 1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::transport::{converse, Conversation, Dest, SocksClient, SocksVersion};

fn play(sel: u8, reply: &[u8], chunk: &mut dyn FnMut(usize) -> usize) -> Option<Conversation> {
    let version = match sel & 3 {
        0 => SocksVersion::V4,
        1 => SocksVersion::V4a,
        2 => SocksVersion::V5,
        _ => SocksVersion::V5h,
    };
    let dest = match (version.remote_names(), sel & 8 != 0) {
        (true, _) => Dest::Name("example.com".into(), 443),
        (false, false) => Dest::Addr("192.0.2.1:80".parse().ok()?),
        (false, true) => Dest::Addr("[2001:db8::1]:80".parse().ok()?),
    };
    let credentials = (sel & 4 != 0).then(|| (b"user".to_vec(), b"pass".to_vec()));
    match SocksClient::new(version, dest, "example.com:443".into(), credentials) {
        Ok((client, first)) => Some(converse(client, first, reply, chunk)),
        // Only socks4 to an IPv6 address is refused before a byte is sent.
        Err(_) => {
            assert!(version == SocksVersion::V4 && sel & 8 != 0);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (sizes, reply) = match rest.split_first() {
        Some((&n, rest)) => {
            let n = usize::from(n % 8).min(rest.len());
            let sizes: Vec<usize> = rest[..n].iter().map(|&b| usize::from(b) + 1).collect();
            (sizes, &rest[n..])
        }
        None => (Vec::new(), rest),
    };
    let Some(whole) = play(sel, reply, &mut |_| usize::MAX) else {
        return;
    };
    assert!(whole.used <= reply.len());
    for (i, msg) in whole.sent.iter().enumerate() {
        let first = msg.first().copied();
        let ok = match sel & 3 {
            0 | 1 => first == Some(4),
            // The RFC 1929 sub-negotiation is the second message when
            // there are credentials and the proxy chose it.
            _ => first == Some(5) || (i == 1 && sel & 4 != 0 && first == Some(1)),
        };
        assert!(ok, "message {i} starts with {first:?}");
    }
    let mut i = 0;
    let pieces = play(sel, reply, &mut |_| {
        i += 1;
        sizes.get((i - 1) % sizes.len().max(1)).copied().unwrap_or(1)
    })
    .expect("played whole");
    let bytewise = play(sel, reply, &mut |_| 1).expect("played whole");
    let asked = play(sel, reply, &mut |n| {
        assert!(n >= 1, "asked for 0 bytes");
        n
    })
    .expect("played whole");
    for (how, other) in [("pieces", &pieces), ("bytewise", &bytewise), ("asked", &asked)] {
        assert_eq!(other.sent, whole.sent, "{how}: sent");
        assert_eq!(other.outcome, whole.outcome, "{how}: outcome");
        assert_eq!(other.used, whole.used, "{how}: used");
    }
    assert!(!bytewise.overread && !asked.overread, "read past a message");
});
