//! Unit tests for `literal.rs` (kept beside it so the module reads as the code alone).

use super::*;

/// Direct port of the Python reference in the design brief.
fn reference(body: &[u8], rules: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let mut best: Option<&(Vec<u8>, Vec<u8>)> = None;
        for rule in rules {
            if body[i..].starts_with(&rule.0) && best.is_none_or(|b| rule.0.len() > b.0.len()) {
                best = Some(rule);
            }
        }
        match best {
            Some((old, new)) => {
                out.extend_from_slice(new);
                i += old.len();
            }
            None => {
                out.push(body[i]);
                i += 1;
            }
        }
    }
    out
}

fn compile(rules: &[(Vec<u8>, Vec<u8>)]) -> Arc<LiteralRules> {
    Arc::new(LiteralRules::new(rules.to_vec()).unwrap())
}

fn stream(rules: &Arc<LiteralRules>, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut replacer = StreamingReplacer::new(Arc::clone(rules));
    let mut out = Vec::new();
    for chunk in chunks {
        replacer.push(chunk, &mut out);
        let bound = rules.longest_pattern().max(1);
        assert!(
            replacer.carried() < bound,
            "carry {} not below longest pattern {bound}",
            replacer.carried()
        );
    }
    replacer.finish(&mut out);
    assert_eq!(replacer.carried(), 0);
    (out, replacer.changed())
}

/// Whole body, one-byte chunks (with empty chunks between them), and every split into two
/// and three pieces: a match is cut at every possible boundary.
fn chunkings(body: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![vec![body], vec![&body[..0], body, &body[..0]]];
    let mut bytes = vec![&body[..0]];
    for i in 0..body.len() {
        bytes.push(&body[i..=i]);
        bytes.push(&body[..0]);
    }
    all.push(bytes);
    for a in 0..=body.len() {
        all.push(vec![&body[..a], &body[a..]]);
        for b in a..=body.len() {
            all.push(vec![&body[..a], &body[a..b], &body[b..]]);
        }
    }
    all
}

fn pairs(rules: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    rules
        .iter()
        .map(|(p, r)| (p.to_vec(), r.to_vec()))
        .collect()
}

#[test]
fn replacement_cases() {
    type Row<'a> = (&'a str, &'a [(&'a [u8], &'a [u8])], &'a [u8], &'a [u8]);
    let rows: &[Row] = &[
        (
            "longest_wins_at_same_start",
            &[(b"he", b"X"), (b"hello", b"Y")],
            b"hello help",
            b"Y Xlp",
        ),
        (
            "leftmost_wins_over_overlapping_later_match",
            &[(b"abc", b"1"), (b"bcd", b"2")],
            b"abcd",
            b"1d",
        ),
        (
            "leftmost_wins_whatever_the_rule_order",
            &[(b"bcd", b"2"), (b"abc", b"1")],
            b"abcd",
            b"1d",
        ),
        (
            "failed_long_candidate_falls_back_to_later_start",
            &[(b"aaab", b"X"), (b"ab", b"Y")],
            b"aaaab",
            b"aX",
        ),
        (
            "pattern_at_body_start_and_end",
            &[(b"ab", b"X")],
            b"ab-ab",
            b"X-X",
        ),
        ("adjacent_matches", &[(b"ab", b"X")], b"ababab", b"XXX"),
        (
            "partial_match_at_end_stays_literal",
            &[(b"abc", b"X")],
            b"xxab",
            b"xxab",
        ),
        (
            "pattern_longer_than_the_chunks",
            &[(b"abcdefghij", b"<alphabet>")],
            b"-abcdefghij-abcdefghi",
            b"-<alphabet>-abcdefghi",
        ),
        (
            "replacement_containing_pattern_is_never_rescanned",
            &[(b"a", b"aa")],
            b"aaa",
            b"aaaaaa",
        ),
        (
            "replacement_forming_another_pattern_is_never_rescanned",
            &[(b"b", b"a"), (b"aa", b"X")],
            b"ab",
            b"aa",
        ),
        (
            "identical_patterns_first_wins",
            &[(b"x", b"1"), (b"x", b"2")],
            b"xyx",
            b"1y1",
        ),
        (
            "empty_replacement_deletes",
            &[(b"--", b"")],
            b"a--b----c",
            b"abc",
        ),
        ("empty_rules_are_identity", &[], b"hello", b"hello"),
        ("empty_body", &[(b"a", b"b")], b"", b""),
        (
            "non_utf8_bytes",
            &[(b"\xff\xfe", b"\x00"), (b"\xc3", b"\xc3\xa9")],
            b"a\xff\xfe\xffb\xc3",
            b"a\x00\xffb\xc3\xa9",
        ),
    ];
    for (name, rules, body, expected) in rows {
        let rules = pairs(rules);
        assert_eq!(reference(body, &rules), *expected, "{name}: reference");
        let compiled = compile(&rules);
        let mut out = Vec::new();
        let changed = compiled.replace_all(body, &mut out);
        assert_eq!(out, *expected, "{name}: replace_all");
        assert_eq!(changed, out != *body, "{name}: changed");
        for chunks in chunkings(body) {
            let (streamed, streamed_changed) = stream(&compiled, &chunks);
            assert_eq!(streamed, *expected, "{name}: chunks {chunks:?}");
            assert_eq!(
                streamed_changed, changed,
                "{name}: changed, chunks {chunks:?}"
            );
        }
    }
}

#[test]
fn changed_is_true_when_replacement_equals_pattern() {
    let compiled = compile(&pairs(&[(b"a", b"a")]));
    let mut out = Vec::new();
    assert!(compiled.replace_all(b"a", &mut out));
    assert!(stream(&compiled, &[b"a"]).1);
    assert!(!stream(&compiled, &[b"b"]).1);
}

#[test]
fn construction() {
    type Row<'a> = (
        &'a str,
        &'a [(&'a [u8], &'a [u8])],
        Result<(bool, usize), usize>,
    );
    let rows: &[Row] = &[
        ("empty_rules_are_allowed", &[], Ok((true, 0))),
        (
            "longest_pattern_counts_bytes",
            &[(b"ab", b""), ("\u{e9}t\u{e9}".as_bytes(), b"")],
            Ok((false, 5)),
        ),
        (
            "empty_pattern_names_its_index",
            &[(b"a", b"b"), (b"", b"c")],
            Err(1),
        ),
        (
            "first_empty_pattern_is_reported",
            &[(b"", b""), (b"", b"")],
            Err(0),
        ),
    ];
    for (name, rules, expected) in rows {
        let got = LiteralRules::new(pairs(rules))
            .map(|r| (r.is_empty(), r.longest_pattern()))
            .map_err(|e| {
                assert!(e.message.contains("empty"), "{name}: {}", e.message);
                assert!(e.to_string().starts_with(&format!("rule {}: ", e.index)));
                e.index
            });
        assert_eq!(got, *expected, "{name}");
    }
}

#[test]
fn streaming_large_body_in_uneven_chunks() {
    let compiled = compile(&pairs(&[
        (b"</body>", b"<script/></body>"),
        (b"foo", b"bar"),
    ]));
    let mut body = b"foo ".repeat(10_000);
    body.extend_from_slice(b"</body>");
    let mut expected = Vec::new();
    compiled.replace_all(&body, &mut expected);
    for size in [1, 2, 3, 6, 7, 8, 4096] {
        let chunks: Vec<&[u8]> = body.chunks(size).collect();
        assert_eq!(stream(&compiled, &chunks).0, expected, "chunk size {size}");
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn word(&mut self, alphabet: &[u8], min: usize, max: usize) -> Vec<u8> {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

#[test]
fn randomized_streaming_matches_replace_all_and_reference() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for case in 0..5000 {
        let alphabet: &[u8] = if case % 2 == 0 { b"ab" } else { b"abc" };
        let rule_count = rng.below(5);
        let rules: Vec<(Vec<u8>, Vec<u8>)> = (0..rule_count)
            .map(|_| {
                let pattern = rng.word(alphabet, 1, 5);
                let replacement = rng.word(b"abcXY", 0, 4);
                (pattern, replacement)
            })
            .collect();
        let body = rng.word(alphabet, 0, 200);
        let expected = reference(&body, &rules);
        let compiled = compile(&rules);
        let mut whole = Vec::new();
        compiled.replace_all(&body, &mut whole);
        assert_eq!(
            whole, expected,
            "replace_all: rules {rules:?} body {body:?}"
        );

        for _ in 0..4 {
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            while start < body.len() {
                let len = match rng.below(4) {
                    0 => 0,
                    1 => 1,
                    _ => rng.below(12),
                };
                let end = (start + len).min(body.len());
                chunks.push(&body[start..end]);
                start = end;
            }
            let (streamed, _) = stream(&compiled, &chunks);
            assert_eq!(
                streamed, expected,
                "streaming: rules {rules:?} chunks {chunks:?}"
            );
        }
    }
}
