//! Vouchers, natively: the shared vectors (`tests/vectors/vouchers.json`, codes computed by an
//! independent Python implementation), exhaustive error detection of the check character, and
//! "never panics" properties.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::*;
use trimtab::value::Value;
use trimtab::voucher::code::{ALPHABET, CODE_RANDOM_BYTES};
use trimtab::voucher::*;
use trimtab::ErrorCode;

const VOUCHERS: &str = include_str!("vectors/vouchers.json");

fn section<'a>(doc: &'a Value, path: &str) -> &'a [Value] {
    doc.get_path(path)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{path} is an array"))
}

fn opt_str<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

fn opt_i64(v: &Value, field: &str) -> Option<i64> {
    v.get(field).and_then(Value::as_f64).map(|n| n as i64)
}

/// A JS number from the vectors; strings stand for what JSON cannot hold.
fn js_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => *n,
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        Value::String(s) if s == "-0" => -0.0,
        other => panic!("not a number: {other:?}"),
    }
}

fn code_of<T>(r: &Result<T, VoucherError>) -> Option<&'static str> {
    r.as_ref().err().map(ErrorCode::code)
}

#[test]
fn generated_codes_match() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "generated") {
        let hex = str_of(c, "random");
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let code = generate_code(&bytes);
        assert_eq!(code, str_of(c, "code"), "random {hex}");
        assert_eq!(validate_code(&code), Ok(code.clone()));
    }
}

#[test]
fn code_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "codes.valid") {
        let input = str_of(c, "input");
        assert_eq!(validate_code(input).as_deref(), Ok(str_of(c, "canonical")), "{input:?}");
    }
    for c in section(&doc, "codes.invalid") {
        let input = str_of(c, "input");
        let got = validate_code(input);
        assert_eq!(
            code_of(&got),
            Some("INVALID_CODE"),
            "{input:?} ({}): {got:?}",
            str_of(c, "why")
        );
    }
}

/// A deterministic sample of codes (xorshift bytes).
fn sample_codes(n: usize) -> Vec<String> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            generate_code(&x.to_be_bytes()[..CODE_RANDOM_BYTES])
        })
        .collect()
}

#[test]
fn every_single_substitution_is_detected() {
    // Every other character of the alphabet, and the aliases O, I, L where they mean another
    // value, at every body and check position of 3,000 codes: 837,000+ mistyped codes.
    let typed: Vec<char> = ALPHABET.iter().map(|&c| c as char).chain(['O', 'I', 'L']).collect();
    let mut tried = 0;
    for code in sample_codes(3_000) {
        let chars: Vec<char> = code.chars().collect();
        for pos in (3..chars.len()).filter(|&p| chars[p] != '-') {
            for &t in &typed {
                if code::symbol_value(t as u8) == code::symbol_value(chars[pos] as u8) {
                    continue;
                }
                let mut wrong = chars.clone();
                wrong[pos] = t;
                let wrong: String = wrong.into_iter().collect();
                assert!(validate_code(&wrong).is_err(), "{code} -> {wrong} accepted");
                tried += 1;
            }
        }
    }
    assert!(tried > 800_000);
}

#[test]
fn every_adjacent_transposition_is_detected() {
    // Adjacent as typed without dashes: prefix, body and check symbol alike.
    let mut tried = 0;
    for code in sample_codes(20_000) {
        let compact: Vec<char> = code.chars().filter(|&c| c != '-').collect();
        for i in 0..compact.len() - 1 {
            if compact[i] == compact[i + 1] {
                continue;
            }
            let mut wrong = compact.clone();
            wrong.swap(i, i + 1);
            let wrong: String = wrong.into_iter().collect();
            assert!(validate_code(&wrong).is_err(), "{code} -> {wrong} accepted");
            tried += 1;
        }
    }
    assert!(tried > 150_000);
}

#[test]
fn phone_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "phones.valid") {
        let input = str_of(c, "input");
        assert_eq!(
            normalize_phone(input).as_deref(),
            Ok(str_of(c, "normalized")),
            "{input:?}"
        );
    }
    for c in section(&doc, "phones.invalid") {
        let got = normalize_phone(str_of(c, "input"));
        assert_eq!(code_of(&got), Some("INVALID_PHONE"), "{}: {got:?}", str_of(c, "why"));
    }
}

#[test]
fn transition_table() {
    let doc = parse(VOUCHERS);
    let table = section(&doc, "transitions");
    assert_eq!(table.len(), 6, "every state x action");
    for c in table {
        let from = Status::parse(str_of(c, "from")).unwrap();
        let action = Action::parse(str_of(c, "action")).unwrap();
        let got = transition(from, action);
        match opt_str(c, "to") {
            Some(to) => assert_eq!(got.map(Status::as_str), Ok(to), "{c:?}"),
            None => {
                assert_eq!(code_of(&got), opt_str(c, "code"), "{c:?}");
                assert!(
                    got.unwrap_err().to_string().contains(from.as_str()),
                    "message names the state"
                );
            }
        }
    }
}

#[test]
fn amount_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "amounts") {
        let amount = js_number(c.get("amount").unwrap());
        let max = num_of(c, "max") as u64; // u64::MAX arrives as 2^64 and saturates back
        let got = parse_amount(amount, max);
        match opt_i64(c, "minor") {
            Some(minor) => assert_eq!(got, Ok(minor as u64), "{c:?}"),
            None => assert_eq!(code_of(&got), opt_str(c, "code"), "{c:?}"),
        }
    }
}

#[test]
fn currency_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "currencies") {
        let allowed: Vec<String> = cases(c, "allowed")
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let got = validate_currency(str_of(c, "currency"), &allowed);
        assert_eq!(got.is_ok(), c.get("ok") == Some(&Value::Bool(true)), "{c:?}");
        if let Err(e) = got {
            assert_eq!(e.code(), "INVALID_CURRENCY");
        }
    }
}

fn policy_of(v: &Value) -> VoucherPolicy {
    VoucherPolicy {
        max_amount_minor: num_of(v, "maxAmountMinor") as u64,
        currencies: cases(v, "currencies")
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        default_ttl_days: opt_i64(v, "defaultTtlDays").map(|d| d as u32),
    }
}

#[test]
fn issue_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "issue") {
        let name = str_of(c, "name");
        let r = c.get("request").unwrap();
        let req = IssueRequest {
            amount: js_number(r.get("amount").unwrap()),
            currency: str_of(r, "currency"),
            holder_phone: str_of(r, "holderPhone"),
            expires_at: opt_str(r, "expiresAt"),
        };
        let got = validate_issue(&policy_of(c.get("policy").unwrap()), &req, num_of(c, "now") as i64);
        match c.get("expected") {
            Some(e) => {
                let want = IssueChecked {
                    amount_minor: num_of(e, "amountMinor") as u64,
                    currency: str_of(e, "currency").to_owned(),
                    holder_phone: str_of(e, "holderPhone").to_owned(),
                    expires_at_ms: opt_i64(e, "expiresAtMs"),
                };
                assert_eq!(got, Ok(want), "{name}");
            }
            None => assert_eq!(code_of(&got), opt_str(c, "code"), "{name}: {got:?}"),
        }
    }
}

fn view_of(v: &Value) -> VoucherView<'_> {
    VoucherView {
        status: Status::parse(str_of(v, "status")).unwrap(),
        holder_phone: opt_str(v, "holderPhone").unwrap_or(""),
        expires_at_ms: opt_i64(v, "expiresAtMs"),
    }
}

#[test]
fn redeem_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "redeem") {
        let view = view_of(c.get("voucher").unwrap());
        let got = check_redeem(&view, str_of(c, "caller"), num_of(c, "now") as i64);
        assert_eq!(code_of(&got), opt_str(c, "code"), "{}: {got:?}", str_of(c, "name"));
    }
}

#[test]
fn void_vectors() {
    let doc = parse(VOUCHERS);
    for c in section(&doc, "void") {
        let got = check_void(&view_of(c));
        assert_eq!(code_of(&got), opt_str(c, "code"), "{c:?}");
    }
}

#[test]
fn every_error_has_a_distinct_code_and_a_message() {
    let all = [
        VoucherError::NotIssued(Status::Voided),
        VoucherError::Expired { expired_at_ms: 0 },
        VoucherError::NotOwner,
        VoucherError::InvalidAmount { max: 5 },
        VoucherError::InvalidCurrency(None),
        VoucherError::InvalidPhone("p"),
        VoucherError::InvalidCode("c"),
        VoucherError::InvalidExpiry("e"),
    ];
    let mut codes: Vec<&str> = all.iter().map(ErrorCode::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    assert!(all.iter().all(|e| !e.to_string().is_empty()));
}

proptest! {
    #[test]
    fn validate_code_never_panics(s in "\\PC{0,40}") {
        if let Ok(canonical) = validate_code(&s) {
            prop_assert_eq!(validate_code(&canonical), Ok(canonical.clone()));
        }
    }

    #[test]
    fn normalize_phone_never_panics(s in "[+0-9 ().\\-a-zé]{0,30}") {
        if let Ok(p) = normalize_phone(&s) {
            prop_assert!(p.starts_with('+') && (9..=16).contains(&p.len()));
            prop_assert_eq!(normalize_phone(&p), Ok(p.clone()));
        }
    }

    #[test]
    fn any_random_bytes_give_a_valid_code(bytes in proptest::collection::vec(any::<u8>(), 0..10)) {
        let code = generate_code(&bytes);
        prop_assert_eq!(validate_code(&code), Ok(code.clone()));
    }

    #[test]
    fn amounts_accept_exactly_the_safe_positive_integers(n in 1u64..(1 << 53)) {
        prop_assert_eq!(parse_amount(n as f64, u64::MAX), Ok(n));
        prop_assert!(parse_amount(n as f64 + 0.5, u64::MAX).is_err() || n >= (1 << 52));
    }
}
