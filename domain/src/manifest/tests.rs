use super::*;
use crate::media_type::{self as mt, ManifestMediaType as M};

mod convert_tests;
mod lists;
mod properties;
mod schema1_tests;
mod sha256;

pub(super) const OCI_HELLO: &[u8] = include_bytes!("../../tests/fixtures/manifests/oci_hello.json");
const DOCKER_HELLO: &[u8] = include_bytes!("../../tests/fixtures/manifests/docker_v2s2_hello.json");
const OCI_TABS: &[u8] = include_bytes!("../../tests/fixtures/manifests/oci_conformance_tabs.json");
const OCI_NO_MT: &[u8] =
    include_bytes!("../../tests/fixtures/manifests/oci_no_media_type_empty_layers.json");
const OCI_ARTIFACT: &[u8] =
    include_bytes!("../../tests/fixtures/manifests/oci_artifact_with_subject.json");
const CONFIG_HELLO: &[u8] = include_bytes!("../../tests/fixtures/manifests/config_hello.json");

const LAYER: &str = "sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47";
const CONFIG: &str = "sha256:128828346610475091b4e4f52c92e8d559bde8dfe1db3d77f0bc4389541a673e";

pub(super) fn parse(t: M, bytes: &[u8]) -> Result<ParsedManifest, ManifestError> {
    parse_manifest(t, bytes, &ParseOptions::default())
}

fn image(t: M, bytes: &[u8]) -> ImageManifest {
    match parse(t, bytes).expect("parses") {
        ParsedManifest::Image(m) => m,
        other => panic!("not an image manifest: {other:?}"),
    }
}

fn digests(ds: &[Digest]) -> Vec<&str> {
    ds.iter().map(Digest::as_str).collect()
}

#[test]
fn real_oci_image() {
    let m = image(M::OciManifest, OCI_HELLO);
    assert!(m.declares_media_type && m.is_image() && !m.has_remote_layer());
    assert_eq!(m.config.digest.as_str(), CONFIG);
    assert_eq!(m.config.size, 331);
    assert_eq!(m.layers.len(), 1);
    assert_eq!(m.layers_compressed_size(), 127);
    assert_eq!(digests(&m.local_blob_digests()), [LAYER, CONFIG]);
    assert_eq!(
        m.annotations.as_ref().unwrap()["org.opencontainers.image.title"],
        "oracle-hello"
    );
    let p = ParsedManifest::Image(m.clone());
    assert_eq!(p.config_media_type(), Some(mt::OCI_IMAGE_CONFIG));
    assert_eq!(p.layers_compressed_size(), Some(127));
    assert!(p.subject().is_none() && p.artifact_type().is_none());
    let config = check_config_blob(&m, Some(CONFIG_HELLO)).unwrap().unwrap();
    assert_eq!(config.labels["org.example.oracle"], "true");
    let labels = m.labels(Some(&config.labels));
    assert_eq!(labels["org.example.oracle"], "true");
    assert_eq!(labels["org.opencontainers.image.title"], "oracle-hello");
}

#[test]
fn real_docker_image() {
    let m = image(M::DockerSchema2, DOCKER_HELLO);
    assert_eq!(m.media_type, M::DockerSchema2);
    assert_eq!(digests(&m.blob_digests()), [LAYER, CONFIG]);
    assert!(check_config_blob(&m, Some(CONFIG_HELLO)).unwrap().is_some());
    // The same bytes are not an OCI manifest: their `mediaType` names another type.
    assert!(matches!(
        parse(M::OciManifest, DOCKER_HELLO),
        Err(ManifestError::Parse(_))
    ));
}

#[test]
fn conformance_suite_manifests() {
    // Tabs, unknown fields, `data` in the config descriptor: all accepted as Quay does.
    let m = image(M::OciManifest, OCI_TABS);
    assert_eq!(m.layers[0].descriptor.size, 168);
    // No `mediaType` and no layers.
    let m = image(M::OciManifest, OCI_NO_MT);
    assert!(!m.declares_media_type && m.layers.is_empty());
    assert_eq!(m.layers_compressed_size(), 0);
    // An artifact with an unregistered config type, an empty layer and a subject.
    let m = image(M::OciManifest, OCI_ARTIFACT);
    assert!(!m.is_image());
    assert_eq!(
        m.config.media_type,
        "application/vnd.nhl.peanut.butter.bagel"
    );
    assert_eq!(
        m.subject.as_ref().unwrap().digest.as_str(),
        "sha256:026536f0a63c87136db1a209c6ccf9412166158882c5eac95e3af795e0123f6b"
    );
    assert_eq!(check_config_blob(&m, None), Ok(None));
    let labels = m.labels(None);
    assert_eq!(
        labels["org.opencontainers.conformance.test"],
        "test config a"
    );
    assert_eq!(labels.len(), 1);
}

#[test]
fn config_blob_rules() {
    let m = image(M::OciManifest, OCI_HELLO);
    let invalid = |r: Result<Option<ImageConfig>, ManifestError>| match r {
        Err(ManifestError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(
        invalid(check_config_blob(&m, None)),
        "Could not load config blob for manifest"
    );
    assert_eq!(
        invalid(check_config_blob(&m, Some(b"{}"))),
        "Size of config does not match that retrieved: 2 vs 331"
    );
    let mut pad = b"[1]".to_vec();
    pad.resize(331, b' ');
    assert!(
        invalid(check_config_blob(&m, Some(&pad))).starts_with("config data does not match schema")
    );
    let mut bad = b"{".to_vec();
    bad.resize(331, b' ');
    assert!(invalid(check_config_blob(&m, Some(&bad))).starts_with("malformed config data"));
    // `{}` is an acceptable OCI image config.
    let mut empty = b"{}".to_vec();
    empty.resize(331, b' ');
    assert_eq!(
        check_config_blob(&m, Some(&empty)),
        Ok(Some(ImageConfig::default()))
    );
    // A Docker config needs `history`; the hello config has it.
    let d = image(M::DockerSchema2, DOCKER_HELLO);
    let mut no_history = br#"{"rootfs":{"type":"layers"}}"#.to_vec();
    no_history.resize(331, b' ');
    assert!(invalid(check_config_blob(&d, Some(&no_history))).contains("'history'"));
}

fn oci(body: &str) -> Result<ParsedManifest, ManifestError> {
    parse(M::OciManifest, body.as_bytes())
}

fn rejection_cases() -> Vec<(M, String, &'static str)> {
    let d = LAYER;
    vec![
        // contract/registry/v2_manifest_put_invalid.json
        (
            M::OciManifest,
            r#"{"schemaVersion": 2}"#.into(),
            "'config' is a required property",
        ),
        (M::OciManifest, "not json".into(), "malformed manifest data"),
        (M::OciManifest, "[]".into(), "is not of type 'object'"),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":1,"config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[]}}"#
            ),
            "is not 2",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"nope","size":1,"digest":"{d}"}},"layers":[]}}"#
            ),
            "not an allowed media type",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","size":"1","digest":"{d}"}},"layers":[]}}"#
            ),
            "is not of type 'number'",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[{{"mediaType":"a/b","size":-1,"digest":"{d}"}}]}}"#
            ),
            "invalid layer size",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[{{"mediaType":"{}","size":1,"digest":"{d}"}}]}}"#,
                mt::OCI_LAYER_NONDISTRIBUTABLE_TAR
            ),
            "missing `urls` for remote layer",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[{{"mediaType":"a/b","size":1,"digest":"sha256:zz"}}]}}"#
            ),
            "could not parse manifest digest: sha256:zz",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[]}}"#,
                mt::OCI_IMAGE_INDEX
            ),
            "is not one of",
        ),
        (
            M::OciManifest,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"a/b","size":1,"digest":"{d}"}},"layers":[],"annotations":[]}}"#
            ),
            "is not of type 'object'",
        ),
        (
            M::DockerSchema2,
            format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","size":1,"digest":"{d}"}},"layers":[]}}"#,
                mt::DOCKER_SCHEMA2_CONFIG
            ),
            "'mediaType' is a required property",
        ),
        (
            M::DockerSchema2,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":1,"digest":"{d}"}},"layers":[]}}"#,
                mt::DOCKER_SCHEMA2_MANIFEST,
                mt::OCI_IMAGE_CONFIG
            ),
            "not an allowed media type",
        ),
        (
            M::DockerSchema2,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":1,"digest":"{d}"}},"layers":[{{"mediaType":"{}","size":1,"digest":"{d}"}}]}}"#,
                mt::DOCKER_SCHEMA2_MANIFEST,
                mt::DOCKER_SCHEMA2_CONFIG,
                mt::DOCKER_SCHEMA2_FOREIGN_LAYER
            ),
            "missing `urls` for remote layer",
        ),
    ]
}

#[test]
fn rejections() {
    for (t, body, needle) in rejection_cases() {
        match parse(t, body.as_bytes()) {
            Err(e @ ManifestError::Parse(_)) => {
                let r = e.to_registry_error();
                assert_eq!((r.code(), r.status()), ("MANIFEST_INVALID", 400));
                let msg = r.detail()["message"].as_str().unwrap().to_owned();
                assert!(msg.starts_with("failed to parse manifest: "), "{msg}");
                assert!(msg.contains(needle), "{body}: {msg} lacks {needle}");
            }
            other => panic!("{body}: expected a parse error, got {other:?}"),
        }
    }
}

#[test]
fn remote_layers_are_not_local_blobs() {
    let body = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","size":1,"digest":"{CONFIG}"}},"layers":[{{"mediaType":"{}","size":5,"digest":"{LAYER}","urls":["https://example.com/x"]}}]}}"#,
        mt::OCI_IMAGE_CONFIG,
        mt::OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP
    );
    let p = oci(&body).unwrap();
    assert_eq!(digests(&p.local_blob_digests().unwrap()), [CONFIG]);
    let ParsedManifest::Image(m) = p else {
        panic!()
    };
    assert!(m.has_remote_layer());
    assert_eq!(m.blob_digests().len(), 2);
    // Docker: any layer with `urls` is not local, foreign or not.
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":1,"digest":"{CONFIG}"}},"layers":[{{"mediaType":"{}","size":5,"digest":"{LAYER}","urls":["https://x"]}},{{"mediaType":"{}","size":5,"digest":"{LAYER}"}}]}}"#,
        mt::DOCKER_SCHEMA2_MANIFEST,
        mt::DOCKER_SCHEMA2_CONFIG,
        mt::DOCKER_SCHEMA2_LAYER,
        mt::DOCKER_SCHEMA2_LAYER
    );
    let p = parse(M::DockerSchema2, body.as_bytes()).unwrap();
    // The duplicate layer digest is linked once.
    assert_eq!(digests(&p.local_blob_digests().unwrap()), [LAYER, CONFIG]);
}

#[test]
fn enforced_artifact_rules_refuse_unknown_types() {
    let opts = ParseOptions {
        artifact_types: mt::ArtifactTypeRules::enforcing(
            mt::ArtifactTypeRules::quay_defaults().table().clone(),
        ),
    };
    assert!(parse_manifest(M::OciManifest, OCI_HELLO, &opts).is_ok());
    let err = parse_manifest(M::OciManifest, OCI_ARTIFACT, &opts).unwrap_err();
    assert!(
        err.to_string().contains("not an allowed artifact type"),
        "{err}"
    );
}

#[test]
fn digest_plumbing_and_error_mapping() {
    let fake = |b: &[u8]| {
        let mut bytes = [0u8; 32];
        bytes[0] = u8::try_from(b.len() % 256).unwrap();
        Digest::sha256_from_bytes(&bytes)
    };
    let p = parse(M::OciManifest, OCI_HELLO).unwrap();
    assert_eq!(p.digest_input(OCI_HELLO), OCI_HELLO);
    let expected = fake(OCI_HELLO);
    assert_eq!(p.verify_digest(OCI_HELLO, &expected, &fake), Ok(expected));
    let other = Digest::sha256_from_bytes(&[9; 32]);
    let err = p.verify_digest(OCI_HELLO, &other, &fake).unwrap_err();
    assert_eq!(
        err.to_registry_error().detail()["message"],
        "manifest digest mismatch"
    );
    let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
    let err = parse(M::OciManifest, &big).unwrap_err();
    assert_eq!(err.to_registry_error().status(), 413);
    assert_eq!(
        ManifestError::TagMismatch.to_registry_error().detail(),
        &serde_json::json!({})
    );
    assert_eq!(
        ManifestError::invalid_signature()
            .to_registry_error()
            .detail()["message"],
        "failed to parse manifest: "
    );
    let r = ManifestError::Invalid("Unknown blob `x`".into()).to_registry_error();
    assert_eq!(r.detail()["message"], "Unknown blob `x`");
}
