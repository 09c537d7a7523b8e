//! Signature verification: WhatsApp / Meta and Standard Webhooks v1.

use super::crypto::{base64_decode, base64_encode, ct_eq, hex_decode, hex_encode, hmac_sha256, hmac_sha256_keyed};
use super::{check_event_id, WebhookError};
use hmac::Mac;

/// Standard Webhooks timestamp tolerance: a delivery signed more than this many seconds before
/// or after the verifier's clock is refused (exactly 300 s either way is accepted).
pub const TOLERANCE_SECONDS: i64 = 300;

const META_PREFIX: &str = "sha256=";
const SECRET_PREFIX: &str = "whsec_";

/// Verifies a WhatsApp / Meta delivery: `header` is the `X-Hub-Signature-256` value,
/// `sha256=<64 hex digits>` (either case), the HMAC-SHA256 of the raw body under the app secret.
///
/// Errors: `INVALID_SECRET` (empty app secret), `MISSING_SIGNATURE` (no or empty header),
/// `MALFORMED_SIGNATURE` (no `sha256=` prefix, not 64 hex digits), `BAD_SIGNATURE`.
pub fn verify_meta_signature(app_secret: &[u8], raw_body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    if app_secret.is_empty() {
        return Err(WebhookError::InvalidSecret("empty app secret"));
    }
    let header = match header {
        Some(h) if !h.is_empty() => h,
        _ => return Err(WebhookError::MissingSignature),
    };
    let hex = header
        .strip_prefix(META_PREFIX)
        .ok_or(WebhookError::MalformedSignature("expected sha256=<hex>"))?;
    if hex.len() != 64 {
        return Err(WebhookError::MalformedSignature("expected 64 hex digits after sha256="));
    }
    let given = hex_decode(hex).map_err(|_| WebhookError::MalformedSignature("not hex after sha256="))?;
    if ct_eq(&hmac_sha256(app_secret, raw_body)?, &given) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The `X-Hub-Signature-256` value Meta would send for `raw_body`: `sha256=<lowercase hex>`
/// (for tests and local stand-ins of Meta).
pub fn sign_meta(app_secret: &[u8], raw_body: &[u8]) -> Result<String, WebhookError> {
    let mut s = String::from(META_PREFIX);
    s.push_str(&hex_encode(&hmac_sha256(app_secret, raw_body)?));
    Ok(s)
}

/// The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_` prefix (the
/// reference libraries accept both forms).
fn secret_key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64_decode(b64).map_err(|_| WebhookError::InvalidSecret("not base64 after whsec_"))?;
    if key.is_empty() {
        return Err(WebhookError::InvalidSecret("empty secret"));
    }
    Ok(key)
}

fn standard_tag(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Result<[u8; 32], WebhookError> {
    let mut mac = hmac_sha256_keyed(key)?;
    for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

fn present<'a>(value: Option<&'a str>, header: &'static str) -> Result<&'a str, WebhookError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(WebhookError::MissingHeader(header)),
    }
}

/// The event id of a Standard Webhooks delivery: its `webhook-id` header, checked (non-empty,
/// at most 256 bytes, visible ASCII). Errors: `MISSING_HEADER`, `INVALID_HEADER`.
pub fn standard_event_id(id: Option<&str>) -> Result<&str, WebhookError> {
    let id = present(id, "webhook-id")?;
    check_event_id(id).map_err(|reason| WebhookError::InvalidHeader {
        header: "webhook-id",
        reason,
    })?;
    Ok(id)
}

/// Whole seconds: 1 to 18 ASCII digits (no sign, no fraction, no spaces).
fn parse_seconds(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0i64, |n, d| n * 10 + (d - b'0') as i64))
}

/// Verifies a Standard Webhooks v1 delivery against the headers `webhook-id`,
/// `webhook-timestamp` and `webhook-signature` (each `None` when absent) and the raw body.
///
/// Order of checks, as in the reference libraries: secret, headers present, id and timestamp
/// well-formed, timestamp within [`TOLERANCE_SECONDS`] of `now_seconds` (both ways), then the
/// signatures. Every `v1,<base64>` entry of the space-separated signature header is compared in
/// constant time; one match suffices, entries of other versions (`v1a`, `v2`) are skipped.
///
/// Errors: `INVALID_SECRET`, `MISSING_HEADER`, `INVALID_HEADER`, `TIMESTAMP_TOO_OLD`,
/// `TIMESTAMP_TOO_NEW`, `MALFORMED_SIGNATURE` (no `v1` entry that decodes to 32 bytes),
/// `BAD_SIGNATURE` (at least one well-formed `v1` entry, none matching).
pub fn verify_standard(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_seconds: i64,
) -> Result<(), WebhookError> {
    let key = secret_key(secret)?;
    let id_header = present(id, "webhook-id")?;
    let ts_header = present(timestamp, "webhook-timestamp")?;
    let sig_header = present(signatures, "webhook-signature")?;
    standard_event_id(Some(id_header))?;
    let ts = parse_seconds(ts_header).ok_or(WebhookError::InvalidHeader {
        header: "webhook-timestamp",
        reason: "not whole seconds since the epoch",
    })?;
    if ts < now_seconds.saturating_sub(TOLERANCE_SECONDS) {
        return Err(WebhookError::TimestampTooOld {
            timestamp: ts,
            now: now_seconds,
        });
    }
    if ts > now_seconds.saturating_add(TOLERANCE_SECONDS) {
        return Err(WebhookError::TimestampTooNew {
            timestamp: ts,
            now: now_seconds,
        });
    }
    let expected = standard_tag(&key, id_header, ts_header, body)?;
    let mut well_formed = false;
    let mut matched = false;
    for entry in sig_header.split(' ').filter(|e| !e.is_empty()) {
        let Some(b64) = entry.strip_prefix("v1,") else {
            continue;
        };
        match base64_decode(b64) {
            Ok(sig) if sig.len() == 32 => {
                well_formed = true;
                // No early exit: every entry is compared.
                matched |= ct_eq(&expected, &sig);
            }
            _ => {}
        }
    }
    if matched {
        Ok(())
    } else if well_formed {
        Err(WebhookError::BadSignature)
    } else {
        Err(WebhookError::MalformedSignature("no v1,<base64 of 32 bytes> entry"))
    }
}

/// Signs a Standard Webhooks v1 delivery: returns the `webhook-signature` entry `v1,<base64>`.
///
/// Errors: `INVALID_SECRET`, `INVALID_HEADER` (an id that [`standard_event_id`] refuses, or a
/// negative timestamp).
pub fn sign_standard(secret: &str, id: &str, timestamp_seconds: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = secret_key(secret)?;
    standard_event_id(Some(id))?;
    if timestamp_seconds < 0 {
        return Err(WebhookError::InvalidHeader {
            header: "webhook-timestamp",
            reason: "negative",
        });
    }
    let ts = timestamp_seconds.to_string();
    let mut out = String::from("v1,");
    out.push_str(&base64_encode(&standard_tag(&key, id, &ts, body)?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const TS: i64 = 1614265330;

    fn code(r: Result<(), WebhookError>) -> &'static str {
        r.err().map_or("OK", |e| e.code())
    }

    #[test]
    fn reference_vector() {
        assert_eq!(sign_standard(SECRET, ID, TS, BODY).unwrap(), SIG);
        assert_eq!(sign_standard(&SECRET[6..], ID, TS, BODY).unwrap(), SIG);
        assert_eq!(
            code(verify_standard(
                SECRET,
                Some(ID),
                Some("1614265330"),
                Some(SIG),
                BODY,
                TS
            )),
            "OK"
        );
    }

    #[test]
    fn tolerance_edges() {
        let v = |now| {
            code(verify_standard(
                SECRET,
                Some(ID),
                Some("1614265330"),
                Some(SIG),
                BODY,
                now,
            ))
        };
        assert_eq!(v(TS + 300), "OK");
        assert_eq!(v(TS - 300), "OK");
        assert_eq!(v(TS + 301), "TIMESTAMP_TOO_OLD");
        assert_eq!(v(TS - 301), "TIMESTAMP_TOO_NEW");
        assert_eq!(v(i64::MIN), "TIMESTAMP_TOO_NEW");
        assert_eq!(v(i64::MAX), "TIMESTAMP_TOO_OLD");
    }

    #[test]
    fn header_errors() {
        let v = |id, ts, sig| code(verify_standard(SECRET, id, ts, sig, BODY, TS));
        assert_eq!(v(None, Some("1614265330"), Some(SIG)), "MISSING_HEADER");
        assert_eq!(v(Some(ID), Some(""), Some(SIG)), "MISSING_HEADER");
        assert_eq!(v(Some(ID), Some("1614265330"), None), "MISSING_HEADER");
        for ts in [
            "hello",
            "-1",
            "1614265330.0",
            " 1614265330",
            "+1614265330",
            "9999999999999999999",
        ] {
            assert_eq!(v(Some(ID), Some(ts), Some(SIG)), "INVALID_HEADER", "{ts}");
        }
        assert_eq!(v(Some("msg 1"), Some("1614265330"), Some(SIG)), "INVALID_HEADER");
        let long = "m".repeat(257);
        assert_eq!(v(Some(&long), Some("1614265330"), Some(SIG)), "INVALID_HEADER");
        for sig in [
            "v1,",
            "v1,dawfeoifkpqwoekfpqoekf",
            "v1,g0hM9",
            "v1a,abc",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            " ",
        ] {
            assert_eq!(
                v(Some(ID), Some("1614265330"), Some(sig)),
                "MALFORMED_SIGNATURE",
                "{sig}"
            );
        }
        assert_eq!(
            v(
                Some(ID),
                Some("1614265330"),
                Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")
            ),
            "BAD_SIGNATURE"
        );
    }

    #[test]
    fn secrets() {
        assert_eq!(secret_key("whsec_").unwrap_err().code(), "INVALID_SECRET");
        assert_eq!(secret_key("").unwrap_err().code(), "INVALID_SECRET");
        assert_eq!(secret_key("whsec_not base64!").unwrap_err().code(), "INVALID_SECRET");
        assert_eq!(secret_key("whsec_c2VjcmV0").unwrap(), b"secret");
        assert_eq!(
            sign_standard(SECRET, ID, -1, BODY).unwrap_err().code(),
            "INVALID_HEADER"
        );
        assert_eq!(sign_standard(SECRET, "", 1, BODY).unwrap_err().code(), "MISSING_HEADER");
    }

    #[test]
    fn meta() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign_meta(b"app-secret", body).unwrap();
        assert!(header.starts_with("sha256=") && header.len() == 71);
        assert_eq!(code(verify_meta_signature(b"app-secret", body, Some(&header))), "OK");
        assert_eq!(
            code(verify_meta_signature(
                b"app-secret",
                body,
                Some(&header.to_uppercase().replace("SHA256=", "sha256="))
            )),
            "OK"
        );
        assert_eq!(
            code(verify_meta_signature(b"other", body, Some(&header))),
            "BAD_SIGNATURE"
        );
        assert_eq!(
            code(verify_meta_signature(b"app-secret", b"{}", Some(&header))),
            "BAD_SIGNATURE"
        );
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, None)),
            "MISSING_SIGNATURE"
        );
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, Some(""))),
            "MISSING_SIGNATURE"
        );
        assert_eq!(code(verify_meta_signature(b"", body, Some(&header))), "INVALID_SECRET");
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, Some(&header[7..]))),
            "MALFORMED_SIGNATURE"
        );
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, Some(&header[..70]))),
            "MALFORMED_SIGNATURE"
        );
        let mut bad = header.clone();
        bad.replace_range(70.., "g");
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, Some(&bad))),
            "MALFORMED_SIGNATURE"
        );
        // Non-ASCII at the position of a hex digit: no panic on a char boundary.
        let uni = format!("sha256={}é", &header[7..69]);
        assert_eq!(
            code(verify_meta_signature(b"app-secret", body, Some(&uni))),
            "MALFORMED_SIGNATURE"
        );
    }
}
