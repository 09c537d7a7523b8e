//! Unit tests for the regex engine.

use super::Regex;

fn re(p: &str) -> Regex {
    Regex::new(p, false).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn regex_basics() {
    let cases: &[(&str, &str, bool)] = &[
        ("abc", "xxabcxx", true),
        ("abc", "ab", false),
        ("^ab", "abc", true),
        ("^ab", "cab", false),
        ("bc$", "abc", true),
        ("bc$", "bcd", false),
        ("a.c", "abc", true),
        ("a.c", "a\nc", false),
        ("-12-25$", "1980-12-25", true),
        ("(Mobile|Tablet)", "Android Mobile Browser", true),
        ("(Mobile|Tablet)", "Chrome Desktop Browser", false),
        ("^(?:ab|cd)+$", "abcdab", true),
        ("^(?:ab|cd)+$", "abce", false),
        ("^(?<x>a)b", "ab", true),
        ("[a-c]+x", "zzbcax", true),
        ("^[^0-9]+$", "abc", true),
        ("^[^0-9]+$", "ab1", false),
        ("^\\d{3}-\\d{2,4}$", "123-4567", true),
        ("^\\d{3}-\\d{2,4}$", "123-45678", false),
        ("^\\d{2,}$", "1", false),
        ("^\\d{2,}$", "12345", true),
        ("^a{0}$", "", true),
        ("\\w+@\\w+\\.com", "mail bob@example.com", true),
        ("^\\s*$", " \t\n", true),
        ("^\\S+$", "a b", false),
        ("^\\D\\W$", "a-", true),
        ("\\bcat\\b", "a cat!", true),
        ("\\bcat\\b", "concat", false),
        ("\\Bcat", "concat", true),
        ("^a.*?b$", "axxb", true),
        ("^a+?b", "aaab", true),
        ("^a??b", "b", true),
        ("a|", "zzz", true),
        ("^$", "", true),
        ("^(a*)*$", "aaaa", true),
        ("^(a*)*b$", "aaaac", false),
        ("^(a|ab)(c|bcd)(d*)$", "abcd", true),
        ("[.]", "a", false),
        ("\\.", "a.b", true),
        ("^\\x41\\u0042\\t$", "AB\t", true),
        ("^[\\d-x]+$", "1-x", true),
        ("^[a-]+$", "a-a", true),
        ("^]{$", "]{", true),
        ("^a{,2}$", "a{,2}", true),
        ("^\\cJ$", "\n", true),
        ("^\\/path$", "/path", true),
        ("^[\\b]$", "\u{8}", true),
        ("^caf\u{e9}.$", "caf\u{e9}\u{1f600}", true),
    ];
    for (p, text, want) in cases {
        assert_eq!(re(p).is_match(text), *want, "/{p}/.test({text:?})");
    }
}

#[test]
fn regex_invalid_patterns_are_errors() {
    for p in [
        "/???***[)",
        "*a",
        "a**",
        "+",
        "(",
        "(a",
        "a)",
        "[a",
        "[b-a]",
        "a{2,1}",
        "\\",
        "^*",
        "\\b+",
        "(?=a)",
        "(?!a)",
        "(?<=a)",
        "(?<!a)",
        "(a)\\1",
        "(?<n>a)\\k<n>",
        "(?x)",
        "{1}",
        "\\uD800",
        // Named groups that might both take part in a match may not share a name (ES2025).
        "(?<a>x)(?<a>y)",
        "(?<a>x|(?<a>y))",
        "(?:(?<a>x)|(?<a>y))(?<a>z)",
        "(?:(?<a>x)|y)(?:(?<a>z)|w)",
    ] {
        assert!(Regex::new(p, false).is_err(), "{p:?} should be rejected");
    }
    for p in ["(?<a>x)|(?<a>y)", "((?<a>x)|y)|(?<a>z)", "(?<a>x)|(?<b>y)(?<a>z)"] {
        assert!(
            Regex::new(p, false).is_ok(),
            "{p:?}: the names are in different alternatives"
        );
    }
    let names = |n: usize| (0..n).map(|i| format!("(?<n{i}>)")).collect::<String>();
    assert!(Regex::new(&names(256), false).is_ok());
    assert_eq!(
        Regex::new(&names(257), false).err().map(|e| e.message),
        Some("too many named groups")
    );
    let deep = "(".repeat(40) + &")".repeat(40);
    assert!(Regex::new(&deep, false).is_err());
    assert!(
        Regex::new("((a{1000}){1000}){1000}", false).is_err(),
        "expansion is capped"
    );
    assert!(
        Regex::new("(){4000000000}", false).is_ok(),
        "empty bodies do not expand"
    );
}

#[test]
fn regex_pathological_patterns_terminate() {
    let text = "a".repeat(5000) + "!";
    // Memoised: linear, so these finish quickly and answer correctly.
    assert!(!re("^(a+)+$").is_match(&text));
    assert!(!re("^(a|aa)*$").is_match(&text));
    assert!(re("(a*)*!").is_match(&text));
    let long = "a".repeat(100_000) + "!";
    assert!(!re("^(a|a)*$").is_match(&long));
    assert!(re("!$").is_match(&long));
    // Empty loop iterations end at the loop head.
    let text = "a".repeat(10_000);
    assert!(re("^(?:a*)*(?:x?){40}$").is_match(&text));
    assert!(re("^(?:a|)*(?:x?){40}$").is_match(&text));
}

#[test]
fn regex_texts_over_the_cap_are_not_answered() {
    use super::{MatchLimit, MAX_TEXT};
    let r = re("a$");
    let at_cap = "b".repeat(MAX_TEXT - 1) + "a";
    assert_eq!(r.test(&at_cap), Ok(true));
    let over = "b".repeat(MAX_TEXT) + "a";
    assert_eq!(r.test(&over), Err(MatchLimit::TextTooLong));
    // Nor is "no match" an answer for a long text: the limit is the same either way.
    assert_eq!(re("z").test(&over), Err(MatchLimit::TextTooLong));
    // The cap counts bytes of UTF-8: 171 three-byte characters are 513 bytes.
    let wide = "€".repeat(MAX_TEXT / 3 + 1);
    assert_eq!(re("€").test(&wide), Err(MatchLimit::TextTooLong));
    assert_eq!(r.states(MAX_TEXT), 3 * (MAX_TEXT as u64 + 1), "a$ is Lit, End, Match");
}

/// Patterns over a small alphabet of the supported syntax, and texts over the letters they use.
#[cfg(not(target_arch = "wasm32"))]
mod bound {
    use super::Regex;
    use proptest::prelude::*;

    fn pattern() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just(".".to_owned()),
            Just("[ab]".to_owned()),
            Just("\\b".to_owned()),
            Just("^".to_owned()),
            Just("$".to_owned()),
        ];
        let quantified = (
            atom,
            prop_oneof![Just(""), Just("*"), Just("+"), Just("?"), Just("{0,3}"), Just("*?")],
        )
            .prop_map(|(a, q)| {
                if a.starts_with('\\') || a == "^" || a == "$" {
                    a
                } else {
                    a + q
                }
            });
        let seq = prop::collection::vec(quantified, 0..6).prop_map(|v| v.concat());
        seq.prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
                (
                    inner.clone(),
                    prop_oneof![Just(""), Just("*"), Just("+"), Just("?"), Just("{1,2}")]
                )
                    .prop_map(|(a, q)| format!("(?:{a}){q}")),
                (inner.clone(), inner).prop_map(|(a, b)| a + &b),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The cost model's premise: a test visits at most program size x (text length + 1)
        /// states, however much it backtracks (the memo covers only joins).
        #[test]
        fn a_test_visits_at_most_its_states(p in pattern(), text in "[ab\\-]{0,40}") {
            if let Ok(re) = Regex::new(&p, false) {
                let mut visits = 0;
                re.search(&text, &mut visits);
                prop_assert!(visits <= re.states(text.len()), "/{}/ on {:?}: {} > {}", p, text, visits, re.states(text.len()));
            }
        }
    }
}
