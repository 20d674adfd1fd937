use super::*;

const A: &str = "sha256:be2b0b243985a912e89c8afcfb4abaf611509e72868cfac47091423dd623890f";
const B: &str = "sha256:eb1c43d8d9d09df6065d363cde66239e1fdab606345ad17be9b1118e95ee2806";

fn docker_list(entries: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{entries}]}}"#,
        mt::DOCKER_SCHEMA2_MANIFEST_LIST
    )
}

fn list(t: M, body: &str) -> ManifestList {
    match parse(t, body.as_bytes()).expect("parses") {
        ParsedManifest::List(l) => l,
        other => panic!("not a list: {other:?}"),
    }
}

#[test]
fn docker_list_rules() {
    let body = docker_list(&format!(
        r#"{{"mediaType":"{}","size":465,"digest":"{A}","platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
           {{"mediaType":"{}","size":626,"digest":"{B}","platform":{{"architecture":"amd64","os":"linux"}}}}"#,
        mt::DOCKER_SCHEMA2_MANIFEST,
        mt::DOCKER_SCHEMA1_MANIFEST
    ));
    let l = list(M::DockerSchema2List, &body);
    assert_eq!(l.child_digests().len(), 2);
    assert_eq!(l.amd64_linux_child().unwrap().digest.as_str(), B);
    assert_eq!(
        l.manifests[0].platform.as_ref().unwrap().variant.as_deref(),
        Some("v8")
    );
    let p = ParsedManifest::List(l);
    assert!(p.is_list());
    assert!(p.local_blob_digests().unwrap().is_empty());
    assert_eq!(p.layers_compressed_size(), None);

    for bad in [
        // platform is required in Docker lists
        docker_list(&format!(
            r#"{{"mediaType":"{}","size":1,"digest":"{A}"}}"#,
            mt::DOCKER_SCHEMA2_MANIFEST
        )),
        // platform needs architecture and os
        docker_list(&format!(
            r#"{{"mediaType":"{}","size":1,"digest":"{A}","platform":{{"os":"linux"}}}}"#,
            mt::DOCKER_SCHEMA2_MANIFEST
        )),
        // signed schema 1 and OCI children are not allowed
        docker_list(&format!(
            r#"{{"mediaType":"{}","size":1,"digest":"{A}","platform":{{"architecture":"a","os":"b"}}}}"#,
            mt::DOCKER_SCHEMA1_SIGNED_MANIFEST
        )),
        docker_list(&format!(
            r#"{{"mediaType":"{}","size":1,"digest":"{A}","platform":{{"architecture":"a","os":"b"}}}}"#,
            mt::OCI_IMAGE_MANIFEST
        )),
        r#"{"schemaVersion":2,"manifests":[]}"#.to_owned(),
    ] {
        assert!(
            matches!(
                parse(M::DockerSchema2List, bad.as_bytes()),
                Err(ManifestError::Parse(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn oci_index_rules() {
    let body = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","size":465,"digest":"{A}"}},
            {{"mediaType":"application/vnd.example.thing","size":3,"digest":"{B}","platform":{{"architecture":"amd64","os":"linux"}}}}],
            "subject":{{"mediaType":"{}","size":465,"digest":"{A}"}},"artifactType":"application/vnd.example+type",
            "annotations":{{"k":"v"}}}}"#,
        mt::OCI_IMAGE_MANIFEST,
        mt::OCI_IMAGE_MANIFEST
    );
    let l = list(M::OciIndex, &body);
    assert!(!l.declares_media_type);
    assert_eq!(l.amd64_linux_child().unwrap().digest.as_str(), B);
    let p = ParsedManifest::List(l.clone());
    assert_eq!(p.subject().unwrap().digest.as_str(), A);
    assert_eq!(p.artifact_type(), Some("application/vnd.example+type"));

    // Children: present with the right size → load; missing → error unless sparse.
    assert_eq!(
        l.check_child(0, Some(OCI_HELLO), &SparseIndexRule::Disabled),
        Ok(ChildOutcome::Load(M::OciManifest))
    );
    assert_eq!(
        l.check_child(0, None, &SparseIndexRule::AllOptional),
        Ok(ChildOutcome::SkipSparse)
    );
    let err = l
        .check_child(0, None, &SparseIndexRule::Disabled)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Could not find child manifest with digest `{A}`")
    );
    assert_eq!(
        l.check_child(0, Some(b"{}"), &SparseIndexRule::Disabled)
            .unwrap_err()
            .to_string(),
        "Size of manifest does not match that retrieved: 2 vs 465"
    );
    assert_eq!(
        l.check_child(1, Some(b"abc"), &SparseIndexRule::Disabled)
            .unwrap_err()
            .to_string(),
        "Unknown or unsupported manifest media type `application/vnd.example.thing`"
    );
    let r = err.to_registry_error();
    assert_eq!(
        r.detail()["message"],
        format!("Could not find child manifest with digest `{A}`")
    );

    // Quay's own empty referrers index (contract/registry/v2_referrers.json).
    let empty = list(
        M::OciIndex,
        r#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}"#,
    );
    assert!(empty.manifests.is_empty() && empty.declares_media_type);
}

#[test]
fn schema1_children_must_match_the_declared_architecture() {
    let body = docker_list(&format!(
        r#"{{"mediaType":"{}","size":626,"digest":"{B}","platform":{{"architecture":"arm64","os":"linux"}}}}"#,
        mt::DOCKER_SCHEMA1_MANIFEST
    ));
    let l = list(M::DockerSchema2List, &body);
    let child = match parse(M::DockerSchema1, schema1_tests::UNSIGNED).unwrap() {
        ParsedManifest::Schema1(s) => s,
        _ => panic!(),
    };
    assert_eq!(
        l.check_child(0, Some(schema1_tests::UNSIGNED), &SparseIndexRule::Disabled),
        Ok(ChildOutcome::Load(M::DockerSchema1))
    );
    assert_eq!(
        l.check_schema1_child(0, &child).unwrap_err().to_string(),
        format!("Mismatch in arch for manifest `{B}`")
    );
    let ok = list(M::DockerSchema2List, &body.replace("arm64", "amd64"));
    assert!(ok.check_schema1_child(0, &child).is_ok());
}

#[test]
fn sparse_rules() {
    let body = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{m}","size":1,"digest":"{A}","platform":{{"architecture":"amd64","os":"linux"}}}},
            {{"mediaType":"{m}","size":1,"digest":"{B}","platform":{{"architecture":"s390x","os":"linux"}}}},
            {{"mediaType":"{m}","size":1,"digest":"{B}"}}]}}"#,
        m = mt::OCI_IMAGE_MANIFEST
    );
    let l = list(M::OciIndex, &body);
    let required = SparseIndexRule::RequiredArchitectures(vec!["amd64".into()]);
    let skip =
        |rule: &SparseIndexRule, i| l.check_child(i, None, rule) == Ok(ChildOutcome::SkipSparse);
    assert!(!skip(&SparseIndexRule::Disabled, 0));
    assert!(skip(&SparseIndexRule::AllOptional, 0) && skip(&SparseIndexRule::AllOptional, 2));
    assert!(!skip(&required, 0), "listed architectures are required");
    assert!(skip(&required, 1), "other architectures may be missing");
    assert!(
        !skip(&required, 2),
        "entries without a platform are required"
    );
    assert!(
        !skip(&SparseIndexRule::RequiredArchitectures(vec![]), 1),
        "empty list: all required"
    );
}
