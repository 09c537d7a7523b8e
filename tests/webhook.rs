//! Webhook signatures, event ids and the dedup window, natively: the shared vectors
//! (tests/vectors/webhooks.json, computed by Python's hmac/hashlib/base64 and including the
//! Standard Webhooks reference vector) plus properties of the codecs and the dedup window.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::*;
use trimtab::value::Value;
use trimtab::webhook::*;
use trimtab::ErrorCode;

const WEBHOOKS: &str = include_str!("vectors/webhooks.json");

fn opt_str<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

fn outcome(r: Result<(), WebhookError>) -> String {
    match r {
        Ok(()) => "OK".into(),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e.code().into()
        }
    }
}

#[test]
fn hmac_vectors() {
    let doc = parse(WEBHOOKS);
    let all = cases(&doc, "hmac");
    assert!(all.len() >= 40);
    for c in all {
        let key = hex_decode(str_of(c, "key")).unwrap();
        let msg = hex_decode(str_of(c, "msg")).unwrap();
        assert_eq!(
            hex_encode(&hmac_sha256(&key, &msg).unwrap()),
            str_of(c, "mac"),
            "key {}",
            str_of(c, "key")
        );
    }
}

#[test]
fn standard_sign_vectors() {
    let doc = parse(WEBHOOKS);
    let all = cases(&doc, "standardSign");
    assert_eq!(
        str_of(&all[0], "signature"),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    for c in all {
        let got = sign_standard(
            str_of(c, "secret"),
            str_of(c, "id"),
            num_of(c, "timestamp") as i64,
            str_of(c, "body").as_bytes(),
        )
        .unwrap();
        assert_eq!(got, str_of(c, "signature"), "{}", str_of(c, "name"));
    }
}

#[test]
fn standard_verify_vectors() {
    let doc = parse(WEBHOOKS);
    let mut failures = Vec::new();
    for c in cases(&doc, "standardVerify") {
        let got = outcome(verify_standard(
            str_of(c, "secret"),
            opt_str(c, "id"),
            opt_str(c, "timestamp"),
            opt_str(c, "signature"),
            str_of(c, "body").as_bytes(),
            num_of(c, "now") as i64,
        ));
        if got != str_of(c, "expected") {
            failures.push(format!(
                "{}: got {got}, want {}",
                str_of(c, "name"),
                str_of(c, "expected")
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn meta_vectors() {
    let doc = parse(WEBHOOKS);
    let mut failures = Vec::new();
    for c in cases(&doc, "meta") {
        let body = str_of(c, "body").as_bytes();
        let secret = str_of(c, "appSecret").as_bytes();
        let got = outcome(verify_meta_signature(secret, body, opt_str(c, "header")));
        if got != str_of(c, "expected") {
            failures.push(format!(
                "{}: got {got}, want {}",
                str_of(c, "name"),
                str_of(c, "expected")
            ));
        }
        if got == "OK" {
            // Our signer agrees with Python's (in lowercase).
            let header = str_of(c, "header");
            assert_eq!(sign_meta(secret, body).unwrap(), header.to_ascii_lowercase());
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn event_json(e: &WhatsAppEvent) -> Value {
    let s = |v: &str| Value::from(v);
    let o = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::from);
    let m: Vec<(&str, Value)> = match e {
        WhatsAppEvent::Message(m) => vec![
            ("kind", s("message")),
            ("id", s(&m.id)),
            ("from", s(&m.from)),
            ("type", s(&m.kind)),
            ("text", o(&m.text)),
            ("timestamp", s(&m.timestamp)),
            ("phoneNumberId", s(&m.phone_number_id)),
        ],
        WhatsAppEvent::Status(st) => vec![
            ("kind", s("status")),
            ("id", s(&st.id)),
            ("messageId", s(&st.message_id)),
            ("status", s(&st.status)),
            ("recipient", s(&st.recipient)),
            ("timestamp", o(&st.timestamp)),
            ("phoneNumberId", s(&st.phone_number_id)),
        ],
    };
    Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[test]
fn whatsapp_event_vectors() {
    let doc = parse(WEBHOOKS);
    for c in cases(&doc, "whatsapp") {
        let name = str_of(c, "name");
        let events = whatsapp_events(c.get("payload").unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = cases(c, "events");
        assert_eq!(events.len(), want.len(), "{name}");
        for (got, want) in events.iter().zip(want) {
            assert!(same(&event_json(got), want), "{name}: got {got:?}, want {want:?}");
            assert_eq!(got.dedup_id(), str_of(want, "id"));
        }
    }
}

#[test]
fn whatsapp_invalid_vectors() {
    let doc = parse(WEBHOOKS);
    let mut failures = Vec::new();
    for c in cases(&doc, "whatsappInvalid") {
        let name = str_of(c, "name");
        match whatsapp_events(c.get("payload").unwrap()) {
            Ok(ev) => failures.push(format!("{name}: accepted, {} events", ev.len())),
            Err(e) => {
                let path = match &e {
                    WebhookError::MalformedPayload { path, .. } => path.as_str(),
                    _ => "",
                };
                if e.code() != str_of(c, "code") || path != str_of(c, "path") {
                    failures.push(format!(
                        "{name}: {} at {path:?} ({e}), want {}",
                        e.code(),
                        str_of(c, "path")
                    ));
                }
                assert!(e.to_string().contains(str_of(c, "path")));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn batched_delivery_dedups_through_the_window() {
    let doc = parse(WEBHOOKS);
    let batched = &cases(&doc, "whatsapp")[1];
    let events = whatsapp_events(batched.get("payload").unwrap()).unwrap();
    let mut w = DedupWindow::new(1000, 60_000);
    let fresh: Vec<&str> = events
        .iter()
        .map(WhatsAppEvent::dedup_id)
        .filter(|id| w.check_and_insert(id, 0))
        .collect();
    // The same message (sent, delivered, read, failed) gives four distinct status events;
    // nothing repeats inside this delivery.
    assert_eq!(fresh.len(), events.len());
    // Redelivered a minute later minus one millisecond: everything is a duplicate.
    assert!(events.iter().all(|e| !w.check_and_insert(e.dedup_id(), 59_999)));
    // The text delivery carries a message that the batch already held.
    let single = whatsapp_events(cases(&doc, "whatsapp")[0].get("payload").unwrap()).unwrap();
    assert!(!w.check_and_insert(single[0].dedup_id(), 1));
    // A delivery holding the same message twice: two events, one of them fresh.
    let dup = &cases(&doc, "whatsapp")[2];
    assert!(str_of(dup, "name").starts_with("a duplicate inside"));
    let events = whatsapp_events(dup.get("payload").unwrap()).unwrap();
    let mut w = DedupWindow::new(1000, 60_000);
    let fresh = events.iter().filter(|e| w.check_and_insert(e.dedup_id(), 0)).count();
    assert_eq!((events.len(), fresh), (2, 1));
}

#[test]
fn standard_event_ids() {
    assert_eq!(
        standard_event_id(Some("msg_p5jXN8AQM9LWM0D4loKWxJek")),
        Ok("msg_p5jXN8AQM9LWM0D4loKWxJek")
    );
    assert_eq!(standard_event_id(Some(&"a".repeat(256))).map(str::len), Ok(256));
    for (id, code) in [
        (None, "MISSING_HEADER"),
        (Some(""), "MISSING_HEADER"),
        (Some("msg 1"), "INVALID_HEADER"),
        (Some("msg\t1"), "INVALID_HEADER"),
        (Some("msg_é"), "INVALID_HEADER"),
    ] {
        assert_eq!(standard_event_id(id).unwrap_err().code(), code, "{id:?}");
    }
    assert_eq!(
        standard_event_id(Some(&"a".repeat(257))).unwrap_err().code(),
        "INVALID_HEADER"
    );
}

#[test]
fn error_codes_are_stable() {
    let all = [
        (WebhookError::MissingSignature, "MISSING_SIGNATURE"),
        (WebhookError::MissingHeader("webhook-id"), "MISSING_HEADER"),
        (
            WebhookError::InvalidHeader {
                header: "webhook-id",
                reason: "empty",
            },
            "INVALID_HEADER",
        ),
        (WebhookError::InvalidSecret("empty"), "INVALID_SECRET"),
        (
            WebhookError::TimestampTooOld {
                timestamp: 1,
                now: 1000,
            },
            "TIMESTAMP_TOO_OLD",
        ),
        (
            WebhookError::TimestampTooNew {
                timestamp: 1000,
                now: 1,
            },
            "TIMESTAMP_TOO_NEW",
        ),
        (WebhookError::MalformedSignature("x"), "MALFORMED_SIGNATURE"),
        (WebhookError::BadSignature, "BAD_SIGNATURE"),
        (WebhookError::InvalidEncoding("x"), "INVALID_ENCODING"),
        (
            WebhookError::MalformedPayload {
                path: "entry".into(),
                reason: "is not an array",
            },
            "MALFORMED_PAYLOAD",
        ),
    ];
    for (e, code) in all {
        assert_eq!(e.code(), code);
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        WebhookError::TimestampTooOld {
            timestamp: 1,
            now: 1000
        }
        .to_string(),
        "webhook timestamp 1 is more than 300 s before now (1000)"
    );
}

/// A reference model of the window: id -> first seen, oldest-first eviction by insertion.
#[derive(Default)]
struct Model {
    entries: Vec<(String, i64)>,
}

impl Model {
    fn check(&mut self, id: &str, now: i64, cap: usize, ttl: i64) -> bool {
        self.entries.retain(|(_, at)| now.saturating_sub(*at) < ttl);
        if self.entries.iter().any(|(k, _)| k == id) {
            return false;
        }
        if cap == 0 || ttl <= 0 {
            return true;
        }
        if self.entries.len() >= cap {
            self.entries.remove(0);
        }
        self.entries.push((id.to_owned(), now));
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let enc = base64_encode(&bytes);
        prop_assert_eq!(enc.len() % 4, 0);
        prop_assert_eq!(base64_decode(&enc).unwrap(), bytes.clone());
        prop_assert_eq!(base64_decode(enc.trim_end_matches('=')).unwrap(), bytes.clone());
        prop_assert_eq!(hex_decode(&hex_encode(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn decoders_never_panic(s in "\\PC{0,40}|[A-Za-z0-9+/=]{0,40}|[0-9a-fA-Fg]{0,40}") {
        let _ = base64_decode(&s);
        let _ = hex_decode(&s);
        let _ = verify_meta_signature(b"k", b"body", Some(&s));
        let _ = verify_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Some(&s), Some(&s), Some(&s), b"", 0);
        let _ = verify_standard(&s, Some("id"), Some("1"), Some("v1,AAAA"), b"", 0);
    }

    #[test]
    fn hmac_matches_a_sha2_based_hmac(key in proptest::collection::vec(any::<u8>(), 0..150),
                                      msg in proptest::collection::vec(any::<u8>(), 0..300)) {
        use sha2::{Digest, Sha256};
        let mut k = [0u8; 64];
        if key.len() > 64 { k[..32].copy_from_slice(&Sha256::digest(&key)); } else { k[..key.len()].copy_from_slice(&key); }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new().chain_update(&ipad).chain_update(&msg).finalize();
        let want = Sha256::new().chain_update(&opad).chain_update(inner).finalize();
        prop_assert_eq!(&hmac_sha256(&key, &msg).unwrap()[..], &want[..]);
    }

    #[test]
    fn sign_then_verify(secret in proptest::collection::vec(any::<u8>(), 1..64),
                        id in "[!-~]{1,40}", ts in 0i64..4_000_000_000, skew in -300i64..=300,
                        body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let secret = format!("whsec_{}", base64_encode(&secret));
        let sig = sign_standard(&secret, &id, ts, &body).unwrap();
        let ts_s = ts.to_string();
        prop_assert!(verify_standard(&secret, Some(&id), Some(&ts_s), Some(&sig), &body, ts + skew).is_ok());
        let mut tampered = body.clone();
        tampered.push(b' ');
        prop_assert_eq!(
            verify_standard(&secret, Some(&id), Some(&ts_s), Some(&sig), &tampered, ts).unwrap_err(),
            WebhookError::BadSignature
        );
    }

    #[test]
    fn dedup_window_matches_the_model(cap in 0usize..6, ttl in 0i64..50,
                                      ops in proptest::collection::vec((0u8..10, 0i64..8), 1..200)) {
        let mut w = DedupWindow::new(cap, ttl);
        let mut model = Model::default();
        let mut now = 0;
        for (id, step) in ops {
            now += step;
            let id = id.to_string();
            prop_assert_eq!(w.check_and_insert(&id, now), model.check(&id, now, cap, ttl), "id {} at {}", id, now);
            prop_assert!(w.len() <= cap);
        }
    }
}

#[test]
fn dedup_window_stays_bounded_under_a_flood() {
    let mut w = DedupWindow::new(1000, 60_000);
    for i in 0..100_000i64 {
        assert!(w.check_and_insert(&format!("wamid.{i}"), i));
        assert!(w.len() <= 1000);
    }
    // The newest 1000 are remembered, older ones were evicted.
    assert!(!w.check_and_insert("wamid.99999", 100_000));
    assert!(!w.check_and_insert("wamid.99000", 100_000));
    assert!(w.check_and_insert("wamid.98999", 100_000));
}

#[test]
fn a_forgotten_id_is_new_again() {
    let mut w = DedupWindow::new(4, 1_000);
    assert!(w.check_and_insert("a", 0));
    assert!(w.check_and_insert("b", 0));
    assert!(!w.check_and_insert("a", 1));
    assert!(w.forget("a"));
    assert!(!w.forget("a"), "already forgotten");
    assert_eq!(w.len(), 1);
    assert!(w.check_and_insert("a", 2), "new again after forget");
    assert!(!w.check_and_insert("b", 2), "others stay");
    for id in ["c", "d", "e", "f"] {
        assert!(w.check_and_insert(id, 3));
    }
    assert!(w.len() <= 4);
}
