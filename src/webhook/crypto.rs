//! The crates under webhook signatures, adapted to [`WebhookError`]: HMAC-SHA256 (`hmac` over
//! `sha2`), constant-time comparison (`subtle`), hex (`hex`) and standard base64 (`base64`).
//! Decoders reject bad input with [`WebhookError::InvalidEncoding`]; nothing here panics on input.

use super::WebhookError;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A streaming HMAC-SHA256 (the `hmac` crate), so signed content made of several parts
/// (`id.timestamp.body`) need not be concatenated first.
pub type HmacSha256 = Hmac<Sha256>;

/// Keys an HMAC-SHA256. Keys longer than the 64-byte block are hashed first (RFC 2104). HMAC
/// takes keys of any length, so the `INVALID_SECRET` error is never seen in practice.
pub fn hmac_sha256_keyed(key: &[u8]) -> Result<HmacSha256, WebhookError> {
    <HmacSha256 as Mac>::new_from_slice(key).map_err(|_| WebhookError::InvalidSecret("key refused by HMAC"))
}

/// HMAC-SHA256 of `msg` under `key` (RFC 2104, checked against RFC 4231).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Result<[u8; 32], WebhookError> {
    let mut mac = hmac_sha256_keyed(key)?;
    mac.update(msg);
    Ok(mac.finalize().into_bytes().into())
}

/// Constant-time equality (`subtle`): the time depends on the lengths only, never on the
/// contents. Different lengths return `false`.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes hex, upper- or lowercase. An odd length or a non-hex character is an error.
pub fn hex_decode(s: &str) -> Result<Vec<u8>, WebhookError> {
    hex::decode(s).map_err(|e| match e {
        hex::FromHexError::OddLength => WebhookError::InvalidEncoding("hex of odd length"),
        _ => WebhookError::InvalidEncoding("not a hex digit"),
    })
}

/// Standard base64 (RFC 4648 section 4): padded when encoding, canonical padding when decoding
/// padded input; non-zero trailing bits refused.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The same alphabet for input without any padding.
const BASE64_UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Standard base64, padded.
pub fn base64_encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes standard base64. Padding may be present (then it must be right) or left off; the
/// URL-safe alphabet, whitespace, misplaced `=`, an impossible length or non-zero trailing bits
/// are errors.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, WebhookError> {
    let engine = if s.contains('=') { &BASE64 } else { &BASE64_UNPADDED };
    engine
        .decode(s)
        .map_err(|_| WebhookError::InvalidEncoding("not standard base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex_decode(s).unwrap()
    }

    #[test]
    fn rfc4231_cases() {
        let long_key = vec![0xaa; 131];
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (long_key.clone(), b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (long_key, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (key, msg, want) in cases {
            assert_eq!(hex_encode(&hmac_sha256(&key, &msg).unwrap()), want);
        }
        // Case 5: truncated output.
        let tag = hmac_sha256(&[0x0c; 20], b"Test With Truncation").unwrap();
        assert_eq!(hex_encode(&tag[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn streaming_matches_one_shot() {
        let msg: Vec<u8> = (0..200u32).map(|i| (i * 31) as u8).collect();
        for split in [0, 1, 63, 64, 65, 199] {
            let mut h = hmac_sha256_keyed(b"key").unwrap();
            h.update(&msg[..split]);
            h.update(&msg[split..]);
            assert_eq!(
                <[u8; 32]>::from(h.finalize().into_bytes()),
                hmac_sha256(b"key", &msg).unwrap()
            );
        }
        // A key of exactly one block is used as is; one byte more is hashed.
        assert_ne!(
            hmac_sha256(&[1; 64], b"m").unwrap(),
            hmac_sha256(&[1; 65], b"m").unwrap()
        );
    }

    #[test]
    fn ct_eq_basics() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(&[0x80], &[0x00]));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(hex_encode(&[0, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(hex_decode("0001ABff").unwrap(), vec![0, 1, 0xab, 0xff]);
        assert_eq!(hex_decode("").unwrap(), Vec::<u8>::new());
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
        assert!(hex_decode("é0").is_err());
    }

    #[test]
    fn base64_rfc4648_vectors() {
        let v = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in v {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
            assert_eq!(base64_decode(enc.trim_end_matches('=')).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)).unwrap(), all);
    }

    #[test]
    fn base64_rejects_bad_input() {
        for bad in [
            "Z",
            "Zg=",
            "Zg===",
            "Z===",
            "=Zg=",
            "Zg==Zg==",
            "Zm9v YmFy",
            "Zm9v\n",
            "Zm-_",
            "Zh==",
            "Zm9=",
            "é",
            "Zg=a",
        ] {
            assert!(base64_decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
