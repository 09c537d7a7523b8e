//! Fuzz targets of the webhook inputs (property-based, proptest): the WhatsApp payload walker
//! and the Standard Webhooks and Meta signature headers. Whatever the input, nothing panics and
//! a refusal is a coded error; a delivery is accepted only with a signature made with the
//! secret. Cases per target: `TRIMTAB_FUZZ_CASES` (256 in `npm test`).

#![cfg(not(target_arch = "wasm32"))]

mod fuzz_support;

use fuzz_support::*;
use proptest::prelude::*;
use proptest::sample::select;
use trimtab::value::Value;
use trimtab::webhook::{sign_meta, sign_standard, verify_meta_signature, verify_standard, whatsapp_events};
use trimtab::ErrorCode;

const VECTORS: &str = include_str!("vectors/webhooks.json");

/// The valid WhatsApp deliveries of the vectors.
fn deliveries() -> Vec<Value> {
    let doc: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    doc.get("whatsapp")
        .and_then(Value::as_array)
        .expect("whatsapp cases")
        .iter()
        .filter_map(|c| c.get("payload").cloned())
        .collect()
}

/// Walks `payload`: events with well-formed dedup ids, or `MALFORMED_PAYLOAD` naming a path.
fn check_payload(payload: &Value) -> Result<(), TestCaseError> {
    match whatsapp_events(payload) {
        Ok(events) => {
            for e in &events {
                let id = e.dedup_id();
                prop_assert!(!id.is_empty() && id.len() <= 513, "{:?}", id);
                prop_assert!(id.bytes().all(|b| b.is_ascii_graphic()), "{:?}", id);
            }
        }
        Err(e) => {
            prop_assert_eq!(e.code(), "MALFORMED_PAYLOAD");
            prop_assert!(e.to_string().starts_with("malformed payload at "), "{}", e);
        }
    }
    Ok(())
}

/// Header values: arbitrary text, or pieces of the Standard Webhooks syntax.
fn header() -> impl Strategy<Value = Option<String>> {
    let piece = prop_oneof![
        select(vec![
            "v1,",
            "v1a,",
            "v2,",
            " ",
            "  ",
            "=",
            "==",
            "whsec_",
            ",",
            "msg_2Lh9",
            "1614265330"
        ])
        .prop_map(str::to_owned),
        "[A-Za-z0-9+/]{0,48}",
        "\\PC{0,12}",
    ];
    let built = prop::collection::vec(piece, 0..6).prop_map(|v| v.concat());
    prop::option::of(prop_oneof![built, text(), "[0-9]{0,20}"])
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
        "(whsec_)?[A-Za-z0-9+/]{0,44}={0,2}",
        text(),
    ]
}

fn now() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        1_614_265_000..1_614_266_000i64,
        Just(i64::MIN),
        Just(i64::MAX)
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn whatsapp_arbitrary_values(payload in json()) {
        check_payload(&payload)?;
    }

    #[test]
    fn whatsapp_mutated_deliveries(which in any::<usize>(), changes in edits()) {
        let all = deliveries();
        let mut payload = all[which % all.len()].clone();
        mutate(&mut payload, &changes);
        check_payload(&payload)?;
    }

    /// Any headers: a coded error, or success only when a `v1` entry is the real signature of
    /// a well-formed id and a timestamp within the tolerance.
    #[test]
    fn standard_webhook_headers(secret in secret(), id in header(), ts in header(), sig in header(),
                                body in prop::collection::vec(any::<u8>(), 0..48), now in now()) {
        let got = verify_standard(&secret, id.as_deref(), ts.as_deref(), sig.as_deref(), &body, now);
        match got {
            Err(e) => prop_assert!(!e.code().is_empty() && !e.to_string().is_empty()),
            Ok(()) => {
                let (id, ts, sig) = (id.unwrap_or_default(), ts.unwrap_or_default(), sig.unwrap_or_default());
                let seconds: i64 = ts.parse().map_err(|_| TestCaseError::fail("accepted a bad timestamp"))?;
                prop_assert!((seconds - now).abs() <= 300);
                let real = sign_standard(&secret, &id, seconds, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(sig.split(' ').any(|s| s == real), "{} lacks {}", sig, real);
            }
        }
    }

    /// A signed delivery verifies; any other signature of the same length does not.
    #[test]
    fn standard_webhook_round_trip(id in "[!-~]{1,256}", ts in 0..4_000_000_000i64, skew in -300..=300i64,
                                   body in prop::collection::vec(any::<u8>(), 0..64),
                                   flip in 4..47usize, others in header()) {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign_standard(secret, &id, ts, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let header = format!("{} {sig}", others.clone().unwrap_or_default());
        let ts_text = ts.to_string();
        prop_assert_eq!(verify_standard(secret, Some(&id), Some(&ts_text), Some(&header), &body, ts + skew), Ok(()));
        let mut forged = sig.into_bytes();
        forged[flip] = if forged[flip] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = verify_standard(secret, Some(&id), Some(&ts_text), Some(&forged), &body, ts + skew);
        prop_assert!(got.is_err(), "a forged signature verified");
    }

    #[test]
    fn meta_signature_headers(secret in prop::collection::vec(any::<u8>(), 0..40), header in header(),
                              body in prop::collection::vec(any::<u8>(), 0..48), sign in any::<bool>()) {
        let header = if sign && !secret.is_empty() {
            sign_meta(&secret, &body).ok()
        } else {
            header
        };
        match verify_meta_signature(&secret, &body, header.as_deref()) {
            Err(e) => prop_assert!(!sign || secret.is_empty(), "{}", e),
            Ok(()) => {
                let real = sign_meta(&secret, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(header.unwrap_or_default().to_ascii_lowercase(), real);
            }
        }
    }
}
