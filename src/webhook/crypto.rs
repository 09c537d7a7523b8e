//! HMAC-SHA256 (RFC 2104) on the crate's own SHA-256, constant-time comparison, and the small
//! hex and standard-base64 codecs the signature headers need. Decoders reject bad input with
//! [`WebhookError::InvalidEncoding`]; nothing here panics on input.

use super::WebhookError;
use crate::bucket::sha256::Sha256;

const BLOCK: usize = 64;

/// A streaming HMAC-SHA256, so signed content made of several parts (`id.timestamp.body`) need
/// not be concatenated first.
#[derive(Clone)]
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    /// Keys the MAC. Keys longer than the 64-byte block are hashed first (RFC 2104).
    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            k[..32].copy_from_slice(&Sha256::new().update(key).finish());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let (mut inner, mut outer) = (Sha256::new(), Sha256::new());
        for b in k.iter_mut() {
            *b ^= 0x36;
        }
        inner.update(&k);
        for b in k.iter_mut() {
            *b ^= 0x36 ^ 0x5c;
        }
        outer.update(&k);
        HmacSha256 { inner, outer }
    }

    /// Feeds message bytes.
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.inner.update(data);
        self
    }

    /// The 32-byte tag.
    pub fn finish(&mut self) -> [u8; 32] {
        let inner = self.inner.finish();
        self.outer.update(&inner).finish()
    }
}

/// HMAC-SHA256 of `msg` under `key` (RFC 2104, checked against RFC 4231).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    HmacSha256::new(key).update(msg).finish()
}

/// Constant-time equality: the time depends on the lengths only, never on the contents.
/// Different lengths return `false` at once.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex, upper- or lowercase. An odd length or a non-hex character is an error.
pub fn hex_decode(s: &str) -> Result<Vec<u8>, WebhookError> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return Err(WebhookError::InvalidEncoding("hex of odd length"));
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    for pair in s.chunks_exact(2) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return Err(WebhookError::InvalidEncoding("not a hex digit")),
        }
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 section 4), padded.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn b64_digit(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as u32),
        b'a'..=b'z' => Some((c - b'a') as u32 + 26),
        b'0'..=b'9' => Some((c - b'0') as u32 + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes standard base64. Padding may be present (then it must be right) or left off; the
/// URL-safe alphabet, whitespace, misplaced `=`, an impossible length or non-zero trailing bits
/// are errors.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, WebhookError> {
    let bytes = s.as_bytes();
    let data = match bytes.iter().position(|&c| c == b'=') {
        Some(p) => {
            let pad = &bytes[p..];
            if pad.len() > 2 || pad.iter().any(|&c| c != b'=') || bytes.len() % 4 != 0 {
                return Err(WebhookError::InvalidEncoding("bad base64 padding"));
            }
            &bytes[..p]
        }
        None => bytes,
    };
    if data.len() % 4 == 1 {
        return Err(WebhookError::InvalidEncoding("impossible base64 length"));
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for &c in chunk {
            let d = b64_digit(c).ok_or(WebhookError::InvalidEncoding("not a base64 character"))?;
            n = n << 6 | d;
        }
        // Left-align a short final chunk to 24 bits.
        n <<= 6 * (4 - chunk.len() as u32);
        let take = chunk.len() - 1;
        let unused = if take == 3 { 0 } else { n & (0xff_ffff >> (8 * take)) };
        if unused != 0 {
            return Err(WebhookError::InvalidEncoding("non-zero trailing base64 bits"));
        }
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Ok(out)
}

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(s: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        s.push(d as char);
    }
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
            assert_eq!(hex_encode(&hmac_sha256(&key, &msg)), want);
        }
        // Case 5: truncated output.
        let tag = hmac_sha256(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(hex_encode(&tag[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn streaming_matches_one_shot() {
        let msg: Vec<u8> = (0..200u32).map(|i| (i * 31) as u8).collect();
        for split in [0, 1, 63, 64, 65, 199] {
            let mut h = HmacSha256::new(b"key");
            h.update(&msg[..split]).update(&msg[split..]);
            assert_eq!(h.finish(), hmac_sha256(b"key", &msg));
        }
        // A key of exactly one block is used as is; one byte more is hashed.
        assert_ne!(hmac_sha256(&[1; 64], b"m"), hmac_sha256(&[1; 65], b"m"));
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

    #[test]
    fn decimal_digits() {
        for n in [0u64, 7, 10, 1614265330, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
