//! Unit tests for `table.rs`.

use super::*;

fn table(routes: &[(&str, &str)]) -> Table {
    let routes = routes
        .iter()
        .map(|(methods, template)| {
            let methods = Methods::new(methods.split(',').map(str::to_owned));
            match (Pattern::parse(template), methods) {
                (Ok(p), Ok(m)) => (p, m),
                _ => unreachable!("valid test route {template}"),
            }
        })
        .collect();
    Table::new(routes)
}

fn found(t: &Table, path: &str, method: &str) -> Option<(usize, Vec<String>)> {
    match t.find(path, method) {
        Match::Found { route, values } => {
            Some((route, values.iter().map(|v| (*v).to_owned()).collect()))
        }
        _ => None,
    }
}

#[test]
fn priority_static_int_re_str_path() {
    let t = table(&[
        ("GET", "/u/{p:path}"),
        ("GET", "/u/{name}"),
        ("GET", "/u/{code:re:[a-z]{2}}"),
        ("GET", "/u/{id:int}"),
        ("GET", "/u/me"),
    ]);
    assert_eq!(found(&t, "/u/me", "GET"), Some((4, vec![])));
    assert_eq!(found(&t, "/u/42", "GET"), Some((3, vec!["42".into()])));
    assert_eq!(found(&t, "/u/ab", "GET"), Some((2, vec!["ab".into()])));
    assert_eq!(found(&t, "/u/abc", "GET"), Some((1, vec!["abc".into()])));
    assert_eq!(found(&t, "/u/a/b/", "GET"), Some((0, vec!["a/b/".into()])));
    assert!(found(&t, "/u/", "GET").is_none());
}

#[test]
fn backtracks_and_falls_through_on_method() {
    let t = table(&[
        ("GET", "/a/b/c"),
        ("GET", "/a/{x}/d"),
        ("POST", "/users/{id}"),
        ("GET", "/users/new"),
    ]);
    // The static branch /a/b fails deeper: the param branch is tried.
    assert_eq!(found(&t, "/a/b/d", "GET"), Some((1, vec!["b".into()])));
    // Static /users/new is GET only: a POST falls through to /users/{id}.
    assert_eq!(
        found(&t, "/users/new", "POST"),
        Some((2, vec!["new".into()]))
    );
    match t.find("/users/new", "DELETE") {
        Match::WrongMethod(allowed) => assert_eq!(allowed, ["GET", "HEAD", "POST"]),
        _ => unreachable!("path matches, method does not"),
    }
    assert!(matches!(t.find("/nope", "GET"), Match::NotFound));
}

#[test]
fn trailing_slash_and_root_are_distinct_routes() {
    let t = table(&[("GET", "/"), ("GET", "/dir/"), ("*", "/any")]);
    assert_eq!(found(&t, "/", "GET").map(|f| f.0), Some(0));
    assert_eq!(found(&t, "", "GET").map(|f| f.0), Some(0));
    assert_eq!(found(&t, "/dir/", "GET").map(|f| f.0), Some(1));
    assert!(found(&t, "/dir", "GET").is_none());
    assert_eq!(found(&t, "/any", "PURGE").map(|f| f.0), Some(2));
    assert_eq!(found(&t, "/", "HEAD").map(|f| f.0), Some(0));
}

#[test]
fn methods_normalise_and_overlap() {
    let get = Methods::new(["get".to_owned()]);
    assert_eq!(get, Ok(Methods::Only(vec!["GET".into(), "HEAD".into()])));
    let Ok(get) = get else { unreachable!() };
    let Ok(head) = Methods::new(["HEAD".to_owned()]) else {
        unreachable!()
    };
    assert!(get.overlaps(&head));
    assert!(Methods::Any.overlaps(&head));
    assert!(Methods::new(Vec::<String>::new()).is_err());
    assert!(Methods::new(["GE T".to_owned()]).is_err());
}
