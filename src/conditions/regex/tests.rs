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
    ] {
        assert!(Regex::new(p, false).is_err(), "{p:?} should be rejected");
    }
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
    // Too long for the memo: no match.
    let huge = "a".repeat(super::MEMO_BITS / 2);
    assert!(re("a").is_match("xa"));
    assert!(!re("a").is_match(&huge));
}
