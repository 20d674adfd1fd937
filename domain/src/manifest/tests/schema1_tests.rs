use super::*;

pub(super) const UNSIGNED: &[u8] =
    include_bytes!("../../../tests/fixtures/manifests/schema1_unsigned_hello.json");
const SIGNED: &[u8] =
    include_bytes!("../../../tests/fixtures/manifests/schema1_signed_synthetic.json");

fn schema1(bytes: &[u8]) -> Schema1Manifest {
    match parse(M::DockerSchema1, bytes).expect("parses") {
        ParsedManifest::Schema1(s) => s,
        other => panic!("not schema 1: {other:?}"),
    }
}

#[test]
fn real_unsigned_schema1() {
    let s = schema1(UNSIGNED);
    assert_eq!(s.media_type(), M::DockerSchema1);
    assert_eq!(
        (s.namespace.as_str(), s.repo_name.as_str(), s.tag.as_str()),
        ("testorg", "hello", "latest")
    );
    assert_eq!(s.architecture.as_deref(), Some("amd64"));
    assert_eq!(s.payload(UNSIGNED), UNSIGNED);
    let layers = s.layers().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].digest.as_str(), LAYER);
    assert_eq!(layers[0].size, Some(127));
    assert_eq!(
        layers[0].v1_id,
        "92f076c5185798b60a7b7f7979ac9ccbd80658c0283323be62942f53b0be12a8"
    );
    assert_eq!(s.labels().unwrap()["org.example.oracle"], "true");
    assert!(s.check_parents().is_ok());
    assert!(s.signing_inputs(UNSIGNED).is_empty());
    let p = ParsedManifest::Schema1(s);
    assert_eq!(p.layers_compressed_size(), Some(127));
    assert_eq!(digests(&p.local_blob_digests().unwrap()), [LAYER]);
    // The PUT media type does not matter: signatures decide.
    assert_eq!(
        parse(M::DockerSchema1Signed, UNSIGNED)
            .unwrap()
            .media_type(),
        M::DockerSchema1
    );
}

#[test]
fn signed_schema1_payload_is_the_unsigned_document() {
    let s = schema1(SIGNED);
    assert_eq!(s.media_type(), M::DockerSchema1Signed);
    // The JWS payload is byte-identical to the unsigned manifest, so the digest is the same.
    assert_eq!(s.payload(SIGNED), UNSIGNED);
    let p = ParsedManifest::Schema1(s.clone());
    assert_eq!(p.digest_input(SIGNED), UNSIGNED);
    let inputs = s.signing_inputs(SIGNED);
    assert_eq!(inputs.len(), 1);
    let (sig, input) = &inputs[0];
    assert_eq!(sig.alg, "ES256");
    assert_eq!(sig.jwk["kty"], "EC");
    assert!(input.starts_with(&format!("{}.", sig.protected)));
    assert_eq!(
        input,
        &format!(
            "{}.{}",
            sig.protected,
            crate::manifest::base64url::encode(UNSIGNED)
        )
    );
}

#[test]
fn schema1_rejections() {
    for (body, needle) in [
        (
            r#"{"name":"a/b","fsLayers":[],"history":[]}"#,
            "'tag' is a required property",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[{}],"history":[]}"#,
            "'blobSum'",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[],"history":[],"signatures":[]}"#,
            "present but empty",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[],"history":[],"signatures":[{"protected":"e30","signature":"x","header":{"alg":"ES256","jwk":{}}}]}"#,
            "malformed `protected`",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[],"history":[],"signatures":[{"protected":"e30","signature":"x","header":{"alg":"ES256"}}]}"#,
            "'jwk'",
        ),
    ] {
        let err = parse(M::DockerSchema1, body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestError::Parse(_)) && err.to_string().contains(needle),
            "{body}: {err}"
        );
    }
    let layer_errors = [
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[{"blobSum":"nope"}],"history":[{"v1Compatibility":"{\"id\":\"x\"}"}]}"#,
            "could not parse manifest digest: nope",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[{"blobSum":"sha256:ab"}],"history":[{"v1Compatibility":"{"}]}"#,
            "Could not parse metadata string",
        ),
        (
            r#"{"tag":"t","name":"a/b","fsLayers":[{"blobSum":"sha256:ab"}],"history":[{"v1Compatibility":"{}"}]}"#,
            "id field missing",
        ),
    ];
    for (body, needle) in layer_errors {
        let ParsedManifest::Schema1(s) = parse(M::DockerSchema1, body.as_bytes()).unwrap() else {
            panic!()
        };
        let err = s.check_target("a", "b", None).unwrap_err();
        assert!(
            matches!(err, ManifestError::Invalid(_)) && err.to_string().contains(needle),
            "{err}"
        );
    }
}

#[test]
fn schema1_target_rules() {
    let s = schema1(UNSIGNED);
    assert!(s.check_target("testorg", "hello", Some("library")).is_ok());
    let e = s
        .check_target("other", "hello", None)
        .unwrap_err()
        .to_registry_error();
    assert_eq!(
        (e.code(), e.message()),
        ("NAME_INVALID", "namespace name does not match manifest")
    );
    assert_eq!(
        e.detail()["message"],
        "namespace name `other` does not match `testorg` in manifest"
    );
    let e = s
        .check_target("testorg", "x", None)
        .unwrap_err()
        .to_registry_error();
    assert_eq!(
        e.detail()["message"],
        "repository name `x` does not match `hello` in manifest"
    );
    assert!(s.check_tag("latest").is_ok());
    assert_eq!(s.check_tag("v1"), Err(ManifestError::TagMismatch));

    // No namespace in the manifest: accepted in the library namespace only.
    let lib = br#"{"tag":"t","name":"busybox","fsLayers":[{"blobSum":"sha256:ab"}],"history":[{"v1Compatibility":"{\"id\":\"x\"}"}]}"#;
    let ParsedManifest::Schema1(s) = parse(M::DockerSchema1, lib).unwrap() else {
        panic!()
    };
    assert!(
        s.check_target("library", "busybox", Some("library"))
            .is_ok()
    );
    assert!(s.check_target("library", "busybox", None).is_err());
    let empty = br#"{"tag":"t","name":"a/b","fsLayers":[],"history":[]}"#;
    let ParsedManifest::Schema1(s) = parse(M::DockerSchema1, empty).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.check_target("a", "b", None).unwrap_err().to_string(),
        "manifest does not reference any layers"
    );
    // Parents must come first (leaf is listed first in the document).
    let orphan = br#"{"tag":"t","name":"a/b","fsLayers":[{"blobSum":"sha256:ab"}],"history":[{"v1Compatibility":"{\"id\":\"x\",\"parent\":\"y\"}"}]}"#;
    let ParsedManifest::Schema1(s) = parse(M::DockerSchema1, orphan).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.check_parents().unwrap_err().to_string(),
        "Unknown parent image y"
    );
}
