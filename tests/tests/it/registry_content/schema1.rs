//! Docker schema 1: signed pushes have their JWS signatures verified, and a pull by tag from a
//! client that does not accept the stored type gets the schema 1 rendering (or, for a list, its
//! linux/amd64 child), as Quay answers.

use serde_json::Value;

use super::{Client, OCI_MANIFEST, error_code, header, sha256};

const SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
const UNSIGNED: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A signed push verifies; the same manifest with a altered signature is `MANIFEST_INVALID`.
pub(super) async fn signed_push(c: &Client, layer: &[u8]) {
    let repo = "admin/hello";
    let key = quay_fips::jwk::generate_rsa(2048).expect("RSA key");
    let layer_digest = sha256(layer);
    let v1 = format!(
        r#"{{"id":"{}","created":"2026-11-27T00:00:00Z","container_config":{{"Cmd":["/bin/sh"]}}}}"#,
        "ab".repeat(32)
    );
    let layers = [quay_fips::schema1::Layer {
        digest: &layer_digest,
        v1_json: &v1,
    }];
    let signed = quay_fips::schema1::sign("admin", "hello", "signed", &layers, &key, 1_795_000_000)
        .expect("signing");
    let first = signed.signature.chars().next().expect("signature");
    let altered = format!(
        "{}{}",
        if first == 'A' { 'B' } else { 'A' },
        &signed.signature[1..]
    );
    let tampered = signed.manifest.replace(&signed.signature, &altered);
    assert_ne!(tampered, signed.manifest);
    let resp = c
        .put_manifest(repo, "signed", SIGNED, tampered.as_bytes())
        .await;
    assert_eq!(error_code(resp).await, (400, "MANIFEST_INVALID".into()));

    let resp = c
        .put_manifest(repo, "signed", SIGNED, signed.manifest.as_bytes())
        .await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    assert_eq!(header(&resp, "docker-content-digest"), signed.digest);
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/manifests/signed"),
        )
        .header("Accept", SIGNED)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), SIGNED);
    assert_eq!(header(&resp, "docker-content-digest"), signed.digest);
    assert_eq!(resp.text().await.unwrap(), signed.manifest);
}

async fn get_tag(c: &Client, tag: &str, accept: &str) -> (String, String, Vec<u8>) {
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/admin/hello/manifests/{tag}"),
        )
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "GET {tag} with Accept {accept}");
    let content_type = header(&resp, "content-type");
    let digest = header(&resp, "docker-content-digest");
    (content_type, digest, resp.bytes().await.unwrap().to_vec())
}

fn assert_schema1(body: &[u8], tag: &str, layer: &[u8]) {
    let doc: Value = serde_json::from_slice(body).expect("schema 1 JSON");
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["name"], "admin/hello");
    assert_eq!(doc["tag"], tag);
    assert_eq!(doc["architecture"], "amd64");
    assert_eq!(doc["fsLayers"][0]["blobSum"], sha256(layer).as_str());
    assert!(doc.get("signatures").is_none(), "rendered unsigned");
    let v1: Value = serde_json::from_str(doc["history"][0]["v1Compatibility"].as_str().unwrap())
        .expect("v1Compatibility JSON");
    assert!(v1["id"].as_str().is_some_and(|id| id.len() == 64), "{v1}");
}

/// `latest` (an OCI image) and `multi` (an OCI index over `oci`) pulled by clients that do
/// not accept them.
pub(super) async fn conversion(c: &Client, layer: &[u8], oci: &[u8]) {
    // An image for a schema 1 client: the unsigned rendering, digest of the served bytes.
    let (content_type, digest, body) = get_tag(c, "latest", SIGNED).await;
    assert_eq!(content_type, UNSIGNED);
    assert_eq!(digest, sha256(&body));
    assert_schema1(&body, "latest", layer);
    // The stored type accepted: as stored.
    let (content_type, _, _) = get_tag(c, "latest", &format!("{DOCKER_V2}, {OCI_MANIFEST}")).await;
    assert_eq!(content_type, OCI_MANIFEST);
    // A list for a client accepting only images: its linux/amd64 child, as stored.
    let (content_type, digest, body) =
        get_tag(c, "multi", &format!("{DOCKER_V2}, {OCI_MANIFEST}")).await;
    assert_eq!(content_type, OCI_MANIFEST);
    assert_eq!(digest, sha256(oci));
    assert_eq!(body, oci);
    // A list for a schema 1 client: the child rendered for the list's tag.
    let (content_type, digest, body) = get_tag(c, "multi", SIGNED).await;
    assert_eq!(content_type, UNSIGNED);
    assert_eq!(digest, sha256(&body));
    assert_schema1(&body, "multi", layer);
    // By digest: always the stored bytes.
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/admin/hello/manifests/{}", sha256(oci)),
        )
        .header("Accept", SIGNED)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "content-type"), OCI_MANIFEST);
}
