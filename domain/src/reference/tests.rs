use super::*;
use proptest::prelude::*;

fn rules(library_support: bool, names: RepositoryNameRules) -> RepositoryPathRules {
    RepositoryPathRules {
        library_support,
        names,
        ..RepositoryPathRules::default()
    }
}

#[test]
fn repository_paths() {
    let ext = RepositoryPathRules::default();
    let std_rules = rules(true, RepositoryNameRules::Standard);
    let no_lib = rules(false, RepositoryNameRules::Extended);
    for (path, r, want) in [
        ("testorg/hello", &ext, Some(("testorg", "hello"))),
        ("busybox", &ext, Some(("library", "busybox"))),
        ("a/b/c", &ext, Some(("a", "b/c"))),
        ("a/b/c", &std_rules, None),
        ("busybox", &no_lib, None),
        ("ns/repo", &no_lib, Some(("ns", "repo"))),
        ("Testorg/hello", &ext, None),
        ("testorg/Hello", &ext, None),
        ("testorg//hello", &ext, None),
        ("testorg/hello/", &ext, None),
        ("/hello", &ext, None),
        ("", &ext, None),
        ("ns/.hidden", &ext, None),
        ("old-ns_x.y/r", &ext, Some(("old-ns_x.y", "r"))),
    ] {
        let got = RepositoryPath::parse(path, r).ok();
        let got = got
            .as_ref()
            .map(|p| (p.namespace.as_str(), p.repository.as_str()));
        assert_eq!(got, want, "{path}");
    }
    assert_eq!(
        RepositoryPath::parse("busybox", &no_lib),
        Err(ReferenceError::NamespaceRequired)
    );
    let p = RepositoryPath::parse("a/b/c", &ext).unwrap();
    assert_eq!(p.full_name(), "a/b/c");
    assert_eq!(p.to_string(), "a/b/c");
}

#[test]
fn references() {
    let d = "sha256:be2b0b243985a912e89c8afcfb4abaf611509e72868cfac47091423dd623890f";
    assert!(matches!(Reference::parse(d), Ok(Reference::Digest(_))));
    assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
    assert!(matches!(Reference::parse("v1.0"), Ok(Reference::Tag(_))));
    for bad in [
        "bad ref",
        "",
        ".x",
        "-x",
        "sha256:xyz",
        "a:g",
        "a b:c",
        &"a".repeat(129),
    ] {
        let err = Reference::parse(bad).expect_err(bad);
        assert_eq!(err.to_registry_error().code(), "MANIFEST_UNKNOWN");
    }
    assert_eq!(Reference::parse(d).unwrap().to_string(), d);
    assert!(Reference::parse("latest").unwrap().as_tag().is_some());
    assert!(Reference::parse(d).unwrap().as_digest().is_some());
}

#[test]
fn name_errors_render_as_name_invalid() {
    let e = RepositoryPath::parse("A/b", &RepositoryPathRules::default()).unwrap_err();
    let r = e.to_registry_error();
    assert_eq!((r.code(), r.status()), ("NAME_INVALID", 400));
}

proptest! {
    #[test]
    fn valid_tags_parse_as_tags(tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}") {
        let r = Reference::parse(&tag).unwrap();
        prop_assert_eq!(r.to_string(), tag.clone());
        prop_assert!(r.as_tag().is_some());
    }

    #[test]
    fn digests_parse_as_digests(alg in "[A-Za-z0-9_+.-]{1,10}", hex in "[a-fA-F0-9]{1,64}") {
        let s = format!("{alg}:{hex}");
        let r = Reference::parse(&s).unwrap();
        prop_assert_eq!(r.to_string(), s.clone());
        prop_assert!(r.as_digest().is_some());
    }

    #[test]
    fn never_panics_and_round_trips(s in "\\PC{0,40}") {
        if let Ok(r) = Reference::parse(&s) {
            prop_assert_eq!(r.to_string(), s.clone());
        }
        let _ = RepositoryPath::parse(&s, &RepositoryPathRules::default());
    }

    #[test]
    fn valid_paths_round_trip(
        ns in "[a-z0-9][a-z0-9._-]{0,20}",
        parts in proptest::collection::vec("[a-z0-9][a-z0-9._-]{0,10}", 1..4),
    ) {
        let path = format!("{ns}/{}", parts.join("/"));
        let p = RepositoryPath::parse(&path, &RepositoryPathRules::default()).unwrap();
        prop_assert_eq!(p.full_name(), path.clone());
    }
}
