//! Unit tests for `render.rs`.

use super::*;
use crate::logger::clock::utc;
use crate::logger::format::{compile, COMBINED};

fn sample() -> Fields<'static> {
    Fields {
        time: Some(utc(971_211_336)),
        millis: 42,
        remote: Some("127.0.0.1"),
        user: None,
        method: Some("GET"),
        script_name: "/app",
        path_info: "/a b/caf\u{e9}/100%",
        query: "x=1&y=\"2\"",
        protocol: Some("HTTP/1.1"),
        status: Some(200),
        bytes: 0,
        duration_us: 2_500_000,
        lookups: vec![
            Some(Cow::Borrowed("https://ex/")),
            Some(Cow::Borrowed("Bot \"x\"\n")),
        ],
        referer: Some("https://ex/"),
        user_agent: Some("caf\u{c3}\u{a9}"),
        route: None,
        request_id: None,
    }
}

#[test]
fn combined_line_escapes_and_quotes() {
    let Ok(format) = compile(COMBINED) else {
        unreachable!("COMBINED compiles")
    };
    let mut out = Vec::new();
    apache(&format.items, &sample(), &mut out);
    assert_eq!(String::from_utf8_lossy(&out),
        "127.0.0.1 - - [10/Oct/2000:20:55:36 +0000] \"GET /app/a%20b/caf%E9/100%25?x=1&y=\\\"2\\\" HTTP/1.1\" 200 - \"https://ex/\" \"Bot \\\"x\\\"\\n\""
    );
}

#[test]
fn other_directives() {
    let Ok(format) = compile("%U|%q|%B|%b|%D|%T|%u|%m|%H|%{X}e") else {
        unreachable!("compiles")
    };
    let mut fields = sample();
    fields.user = Some("");
    fields.lookups = vec![None];
    let mut out = Vec::new();
    apache(&format.items, &fields, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "/app/a b/caf\\xe9/100%|?x=1&y=\\\"2\\\"|0|-|2500000|2|\"\"|GET|HTTP/1.1|-"
    );
}

#[test]
fn json_is_ascii_with_decoded_text() {
    let mut out = Vec::new();
    let mut fields = sample();
    fields.request_id = Some("abc");
    json(&fields, &mut out);
    assert_eq!(String::from_utf8_lossy(&out),
        "{\"time\":\"2000-10-10T20:55:36.042+00:00\",\"remote_addr\":\"127.0.0.1\",\"method\":\"GET\",\"path\":\"/app/a%20b/caf%E9/100%25\",\"query\":\"x=1&y=\\\"2\\\"\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":0,\"duration_us\":2500000,\"referer\":\"https://ex/\",\"user_agent\":\"caf\\u00e9\",\"route\":null,\"request_id\":\"abc\"}"
    );
    let mut astral = Vec::new();
    json_string("\u{1f600}\u{1}", &mut astral);
    assert_eq!(
        String::from_utf8_lossy(&astral),
        "\"\\ud83d\\ude00\\u0001\""
    );
}

#[test]
fn text_values_decode_utf8_else_keep_latin1() {
    assert_eq!(text_value("caf\u{c3}\u{a9}"), "caf\u{e9}");
    assert_eq!(text_value("caf\u{e9}"), "caf\u{e9}");
    assert_eq!(text_value("\u{20ac}"), "\u{20ac}");
}
