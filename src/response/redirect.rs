//! Redirects under `-L` (RFC 9110 section 15.4): which responses are
//! followed, and what the next request is.

use crate::request::RequestSpec;
use crate::response::head::Head;
use crate::target::Target;

/// The `Location` to follow, when `head` is a redirect: 301, 302, 303, 307
/// or 308 with a non-empty `Location` (an empty one points nowhere, and
/// curl does not follow it either).
pub fn location(head: &Head) -> Option<String> {
    if !matches!(head.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = String::from_utf8_lossy(head.first("Location")?)
        .trim()
        .to_owned();
    (!location.is_empty()).then_some(location)
}

/// The request for the next hop of a redirect: 303 turns any method but
/// HEAD into GET without a body, and so do 301 and 302 after a POST (what
/// every client does); 307 and 308 keep the method and body. Credentials
/// are not sent to another host.
pub fn next_request(mut spec: RequestSpec, status: u16, from: &Target, to: &Target) -> RequestSpec {
    let to_get = match status {
        303 => spec.method != "HEAD",
        301 | 302 => spec.method == "POST",
        _ => false,
    };
    if to_get {
        spec.method = "GET".to_owned();
        spec.body = None;
        spec.upload = None;
        spec.multipart = None;
        spec.headers.retain(|h| {
            !h.name().eq_ignore_ascii_case("Content-Type")
                && !h.name().eq_ignore_ascii_case("Content-Length")
        });
    }
    let same_origin = from.host == to.host && from.port == to.port && from.tls == to.tls;
    if !same_origin {
        spec.headers.retain(|h| {
            !h.name().eq_ignore_ascii_case("Authorization")
                && !h.name().eq_ignore_ascii_case("Cookie")
        });
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Body, HeaderEdit};

    fn spec(method: &str) -> RequestSpec {
        let mut s = RequestSpec::get();
        s.method = method.to_owned();
        s.body = Some(Body {
            bytes: b"x=1".to_vec(),
            form: true,
            json: false,
        });
        s.headers = vec![
            HeaderEdit::parse("Authorization: Bearer t").unwrap(),
            HeaderEdit::parse("Content-Type: text/plain").unwrap(),
        ];
        s
    }

    #[test]
    fn redirect_method_rules() {
        let a = Target::parse("http://a/").unwrap();
        let b = Target::parse("http://b/").unwrap();
        let s = next_request(spec("POST"), 303, &a, &a);
        assert_eq!(
            (s.method.as_str(), s.body.is_none(), s.headers.len()),
            ("GET", true, 1)
        );
        let s = next_request(spec("POST"), 302, &a, &a);
        assert_eq!(s.method, "GET");
        let s = next_request(spec("PUT"), 302, &a, &a);
        assert_eq!((s.method.as_str(), s.body.is_some()), ("PUT", true));
        let s = next_request(spec("POST"), 307, &a, &b);
        assert_eq!((s.method.as_str(), s.body.is_some()), ("POST", true));
        assert!(s.headers.iter().all(|h| h.name() != "Authorization"));
        let s = next_request(spec("HEAD"), 303, &a, &a);
        assert_eq!(s.method, "HEAD");
    }

    #[test]
    fn only_a_redirect_with_a_location_is_followed() {
        let head = |status, location: Option<&str>| Head {
            version: 1,
            status,
            reason: String::new(),
            headers: location
                .map(|l| ("Location".to_owned(), l.as_bytes().to_vec()))
                .into_iter()
                .collect(),
        };
        assert_eq!(location(&head(302, Some(" /next "))), Some("/next".into()));
        assert_eq!(location(&head(200, Some("/next"))), None);
        assert_eq!(location(&head(301, None)), None);
        // Issue 11 item 10: an empty Location was followed to itself.
        assert_eq!(location(&head(301, Some(""))), None);
        assert_eq!(location(&head(307, Some("  "))), None);
    }
}
