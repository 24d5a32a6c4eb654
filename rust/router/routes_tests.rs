use super::*;

fn methods(list: &[&str]) -> Methods {
    Methods::new(list.iter().map(|m| (*m).to_owned())).unwrap()
}

fn pattern(path: &str) -> Pattern {
    Pattern::parse(path).unwrap()
}

#[test]
fn same_shape_and_overlapping_methods_conflict() {
    let mut builder = Builder::default();
    builder
        .add("/u/{id}", pattern("/u/{id}"), methods(&["GET"]), 1, None)
        .unwrap();
    let err = builder
        .add(
            "/u/{name}",
            pattern("/u/{name}"),
            methods(&["GET", "POST"]),
            2,
            None,
        )
        .unwrap_err();
    assert!(
        err.contains("conflicts with the route \"/u/{id}\""),
        "{err}"
    );
    // Other methods on the same shape, or another shape, are fine.
    builder
        .add(
            "/u/{name}",
            pattern("/u/{name}"),
            methods(&["POST"]),
            3,
            None,
        )
        .unwrap();
    builder
        .add(
            "/u/{id:int}",
            pattern("/u/{id:int}"),
            methods(&["GET"]),
            4,
            None,
        )
        .unwrap();
    assert_eq!(builder.routes.len(), 3);
}

#[test]
fn names_are_unique_and_found() {
    let mut builder = Builder::default();
    builder
        .add("/a", pattern("/a"), Methods::Any, "a", Some("home".into()))
        .unwrap();
    let err = builder
        .add("/b", pattern("/b"), Methods::Any, "b", Some("home".into()))
        .unwrap_err();
    assert!(err.contains("already used by the route \"/a\""), "{err}");
    assert_eq!(builder.named("home").map(|r| r.app), Some("a"));
    assert!(builder.named("nope").is_none());
    assert_eq!(
        builder.pattern_named("home").map(|p| p.template),
        Ok("/a".to_owned())
    );
    assert_eq!(
        builder.pattern_named("nope").map(|p| p.template),
        Err(r#"Router.url_for(name="nope"): no route has this name"#.to_owned())
    );
}

#[test]
fn prefixes_are_checked_and_mount_once() {
    let mut builder = Builder::default();
    for bad in ["", "api", "/api/", "/"] {
        assert!(builder.mount(bad.to_owned(), 0).is_err(), "{bad:?}");
    }
    builder.mount("/api".to_owned(), 1).unwrap();
    assert!(builder
        .mount("/api".to_owned(), 2)
        .unwrap_err()
        .contains("already mounted"));
    assert_eq!(builder.mounts.len(), 1);
}

#[test]
fn changes_are_refused_once_compiled() {
    let mut builder: Builder<()> = Builder::default();
    assert!(builder.check_open("add").is_ok());
    builder.frozen = true;
    assert_eq!(
        builder.check_open("mount"),
        Err("Router.mount(): routes are compiled once, on the first request, and cannot change after it; add all routes before serving".to_owned())
    );
}

#[test]
fn apps_are_the_routes_then_the_mounts() {
    let mut builder = Builder::default();
    builder.mount("/m".to_owned(), 1).unwrap();
    builder
        .add("/a", pattern("/a"), Methods::Any, 2, None)
        .unwrap();
    builder.mount("/n".to_owned(), 3).unwrap();
    assert_eq!(builder.apps().copied().collect::<Vec<_>>(), [2, 1, 3]);
}
