//! Why the server's certificate was refused, as a number: the code curl
//! shows as `-w '%{ssl_verify_result}'` (OpenSSL's X509 verify result,
//! `X509_V_ERR_*`), carried from the handshake to `-w` as the typed cause
//! of the exit-60 error.
//!
//! native-tls keeps OpenSSL's verify result to itself and only prints it,
//! as `... certificate verify failed ... (self-signed certificate)`. The
//! text in the parentheses is `X509_verify_cert_error_string(code)` of the
//! same libcrypto, so the code is found by asking that function for each
//! code until the text matches: exact, with no table to go stale.
//!
//! On Windows native-tls is SChannel, whose refusal is an HRESULT in the
//! error's text ([`schannel_refusal`]): still exit 60, with a reason, and
//! code 1 (there is no X509 code to give).

use std::fmt;

/// The certificate check failed: the reason OpenSSL gave, and its code.
#[derive(Debug)]
pub struct VerifyFailure {
    /// `self-signed certificate`, `certificate has expired`, ...
    reason: String,
    /// curl's `ssl_verify_result` for it.
    code: i64,
}

/// `X509_V_ERR_HOSTNAME_MISMATCH`, `X509_V_ERR_EMAIL_MISMATCH`,
/// `X509_V_ERR_IP_ADDRESS_MISMATCH`: the name checks. OpenSSL does them in
/// the chain check (native-tls asks it to); curl does them itself, after a
/// chain check that passed, and leaves `ssl_verify_result` at 1 (its
/// `!X509_V_OK` placeholder) when the name does not match.
#[cfg(target_os = "linux")]
const NAME_MISMATCH: std::ops::RangeInclusive<i32> = 62..=64;

/// The codes asked about: OpenSSL 3.x has fewer than 100.
#[cfg(target_os = "linux")]
const MAX_CODE: i32 = 200;

impl VerifyFailure {
    /// From the reason native-tls printed; code 1 (curl's "failed, no
    /// code") where the reason is not one of this OpenSSL's.
    pub fn from_reason(reason: String) -> VerifyFailure {
        let code = code_of(&reason).unwrap_or(1);
        VerifyFailure { reason, code }
    }

    /// curl's `ssl_verify_result` for this failure.
    pub fn code(&self) -> i64 {
        self.code
    }
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for VerifyFailure {}

/// The X509 verify code whose text is `reason`, as curl shows it.
#[cfg(target_os = "linux")]
fn code_of(reason: &str) -> Option<i64> {
    use openssl::x509::X509VerifyResult;
    // OpenSSL formats a code it does not know into one static buffer, so
    // two threads asking at once would race; rawget's askers take turns.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let code = (1..=MAX_CODE).find(|&n| {
        // SAFETY: any code is valid to ask about (an unknown one is
        // "error number N"); the static buffer an unknown one is written
        // to is only written under the lock above (native-tls formats the
        // code of a real failure, a known one, which uses no buffer).
        unsafe { X509VerifyResult::from_raw(n) }.error_string() == reason
    })?;
    Some(match NAME_MISMATCH.contains(&code) {
        true => 1,
        false => i64::from(code),
    })
}

/// Elsewhere native-tls is not on OpenSSL (Secure Transport, SChannel):
/// there is no X509 code to give.
#[cfg(not(target_os = "linux"))]
fn code_of(_: &str) -> Option<i64> {
    None
}

/// SChannel's refusal of the certificate, from native-tls's text of it:
/// `... (os error -2146762487)` (std's io::Error on Windows), or `OS Error
/// -2146762482 (FormatMessageW() ...)` where the system has no text for
/// it (wine). A certificate error is an HRESULT of the CERT_E_ facility
/// (0x800B01xx), or one of SChannel's own SEC_E_ or CRYPT_E_ codes for a
/// certificate; anything else is not a refusal (exit 35, as before).
pub fn schannel_refusal(text: &str) -> Option<VerifyFailure> {
    let digits = match text.rfind("(os error ") {
        Some(at) => &text[at + "(os error ".len()..],
        None => text.strip_prefix("OS Error ")?,
    };
    let end = digits
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(digits.len(), |(i, _)| i);
    let code = digits[..end].parse::<i32>().ok()? as u32;
    let reason = match code {
        0x800B_0101 | 0x8009_0328 => "certificate has expired",
        0x800B_0109 | 0x8009_0325 => "untrusted root certificate",
        0x800B_010A => "unable to build the certificate chain",
        0x800B_010E | 0x8009_2012 | 0x8009_2013 => "the revocation check failed",
        0x800B_010F | 0x8009_0322 => "hostname mismatch",
        0x8009_2010 => "certificate revoked",
        0x800B_0100..=0x800B_01FF | 0x8009_0327 | 0x8009_6004 => "certificate refused",
        _ => return None,
    };
    Some(VerifyFailure {
        reason: format!("{reason} (SChannel 0x{code:08X})"),
        code: 1,
    })
}

/// The verify code in `err`'s chain of causes, if a certificate check
/// failed.
pub fn verify_result(err: &(dyn std::error::Error + 'static)) -> Option<i64> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(failure) = e.downcast_ref::<VerifyFailure>() {
            return Some(failure.code());
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_reasons_openssl_prints_give_curls_codes() {
        for (reason, code) in [
            ("self-signed certificate", 18),
            ("certificate has expired", 10),
            ("unable to get local issuer certificate", 20),
            ("self-signed certificate in certificate chain", 19),
            ("hostname mismatch", 1),
            ("IP address mismatch", 1),
        ] {
            assert_eq!(
                VerifyFailure::from_reason(reason.into()).code(),
                code,
                "{reason}"
            );
        }
    }

    #[test]
    fn schannels_refusals_are_found_in_both_texts_and_nothing_else_is() {
        let real = "A certificate chain processed, but terminated in a root certificate which \
                    is not trusted by the trust provider. (os error -2146762487)";
        let failure = schannel_refusal(real).expect("CERT_E_UNTRUSTEDROOT");
        assert_eq!(
            failure.to_string(),
            "untrusted root certificate (SChannel 0x800B0109)"
        );
        assert_eq!(failure.code(), 1);
        let wine = "OS Error -2146762482 (FormatMessageW() returned error 317)";
        assert_eq!(
            schannel_refusal(wine).map(|f| f.to_string()).as_deref(),
            Some("the revocation check failed (SChannel 0x800B010E)")
        );
        for other in [
            "Connection reset by peer (os error 104)",
            "OS Error -2146893048 (FormatMessageW() returned error 317)",
            "error:0A000086:SSL routines::certificate verify failed",
            "(os error -)",
        ] {
            assert!(schannel_refusal(other).is_none(), "{other}");
        }
    }

    #[test]
    fn an_unknown_reason_is_a_failure_without_a_code_and_is_found_in_the_chain() {
        let failure = VerifyFailure::from_reason("no such reason".into());
        assert_eq!(failure.code(), 1);
        let err =
            crate::Error::new(crate::ErrorKind::CertVerify, "not verified").with_source(failure);
        assert_eq!(verify_result(&err), Some(1));
        let other = crate::Error::new(crate::ErrorKind::Tls, "handshake failed");
        assert_eq!(verify_result(&other), None);
    }
}
