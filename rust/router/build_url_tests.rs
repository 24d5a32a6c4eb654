//! Unit tests for `build_url.rs`: one table per rule, each case named after what it shows.

use super::*;

/// `url_for(name, **args)` on a route of `template`, each argument given as its Python side
/// would give it.
fn url_for(template: &str, args: &[(&str, Arg)]) -> Result<String, UrlError<()>> {
    let Ok(pattern) = Pattern::parse(template) else {
        unreachable!("valid test template {template}");
    };
    let path_arg = |param: &str, _| {
        Ok(args
            .iter()
            .find(|(key, _)| *key == param)
            .map(|(_, arg)| arg.clone()))
    };
    let query = |used: &dyn Fn(&str) -> bool| {
        Ok(args
            .iter()
            .filter(|(key, _)| !used(key))
            .map(|(key, arg)| match arg {
                Arg::Text(text) | Arg::NotInt(text) => ((*key).to_owned(), text.clone()),
            })
            .collect())
    };
    build_url("r", &pattern, path_arg, query)
}

fn text(text: &str) -> Arg {
    Arg::Text(text.to_owned())
}

/// (rule, template, arguments, the URL or the error)
type Case<T> = (&'static str, &'static str, Vec<(&'static str, Arg)>, T);

#[test]
fn urls() {
    let cases: Vec<Case<&str>> = vec![
        ("the root", "/", vec![], "/"),
        (
            "an int",
            "/users/{id:int}",
            vec![("id", text("5"))],
            "/users/5",
        ),
        (
            "zero is an int",
            "/users/{id:int}",
            vec![("id", text("0"))],
            "/users/0",
        ),
        (
            "a trailing slash is kept",
            "/n/{who}/",
            vec![("who", text("bob"))],
            "/n/bob/",
        ),
        (
            "a regex parameter",
            "/w/{word:re:[a-c]+}",
            vec![("word", text("abca"))],
            "/w/abca",
        ),
        (
            "a parameter is percent-encoded as UTF-8, '/' included",
            "/n/{who}",
            vec![("who", text("a b/c?d#e%f é~!$&'()*+,;=:@-._"))],
            "/n/a%20b%2Fc%3Fd%23e%25f%20%C3%A9~!$&'()*+,;=:@-._",
        ),
        (
            "a path parameter keeps its slashes",
            "/files/{rest:path}",
            vec![("rest", text("dir/sub dir/é?.txt"))],
            "/files/dir/sub%20dir/%C3%A9%3F.txt",
        ),
        (
            "static segments are encoded too",
            "/café/{x}",
            vec![("x", text("é"))],
            "/caf%C3%A9/%C3%A9",
        ),
        (
            "other arguments become the query, in order",
            "/users/{id:int}",
            vec![
                ("q", text("a b&c")),
                ("id", text("5")),
                ("page", text("2")),
                ("z", text("é")),
            ],
            "/users/5?q=a%20b%26c&page=2&z=%C3%A9",
        ),
        (
            "a query on the root",
            "/",
            vec![("b", text("1")), ("a", text("2"))],
            "/?b=1&a=2",
        ),
    ];
    for (rule, template, args, expected) in cases {
        assert_eq!(url_for(template, &args), Ok(expected.to_owned()), "{rule}");
    }
}

#[test]
fn errors() {
    let value = |message: &str| UrlError::Value(message.to_owned());
    let cases: Vec<Case<UrlError<()>>> = vec![
        (
            "a missing parameter",
            "/users/{id:int}",
            vec![("other", text("x"))],
            value(r#"Router.url_for("r"): missing parameter "id" for "/users/{id:int}""#),
        ),
        (
            "an int parameter wants an int",
            "/users/{id:int}",
            vec![("id", Arg::NotInt("str".to_owned()))],
            UrlError::Type(r#"Router.url_for("r"): id must be an int, not str"#.to_owned()),
        ),
        (
            "an int parameter is not negative",
            "/users/{id:int}",
            vec![("id", text("-1"))],
            value(r#"Router.url_for("r"): id must be >= 0, not -1"#),
        ),
        (
            "a value its converter would not match",
            "/w/{word:re:[a-c]+}",
            vec![("word", text("abcd"))],
            value(r#"Router.url_for("r"): word="abcd" would not match "/w/{word:re:[a-c]+}""#),
        ),
        (
            "an empty value matches no segment",
            "/n/{who}",
            vec![("who", text(""))],
            value(r#"Router.url_for("r"): who="" would not match "/n/{who}""#),
        ),
    ];
    for (rule, template, args, expected) in cases {
        assert_eq!(url_for(template, &args), Err(expected), "{rule}");
    }
}

#[test]
fn an_error_reading_an_argument_is_passed_on_and_stops_the_build() {
    let Ok(pattern) = Pattern::parse("/a/{x}/{y}") else {
        unreachable!("valid test template");
    };
    let mut asked = Vec::new();
    let result = build_url(
        "r",
        &pattern,
        |param, _| {
            asked.push(param.to_owned());
            Err("str() raised")
        },
        |_| unreachable!("no query after a failed parameter"),
    );
    assert_eq!(result, Err(UrlError::Arg("str() raised")));
    assert_eq!(asked, ["x"]);
}
