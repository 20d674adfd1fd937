//! Regressions found by the OCI distribution-spec conformance suite (v1.1.1), on the real binary
//! (mirror preset): the upload status a client reads after a 416 (its challenge, `Location` and
//! `Range`), and the referrers' `artifactType` of an image manifest that has none of its own.
//! See `docs/registry-differences.md`, section "OCI conformance suite".

use quay_e2e::client;
use serde_json::{Value, json};

use crate::support::{Client, OCI_MANIFEST, PASSWORD, serve_args, sha256, start};

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default()
}

/// The `scope` of a response's Bearer challenge.
fn challenge_scope(resp: &reqwest::Response) -> String {
    let challenge = header(resp, "www-authenticate");
    challenge
        .split_once("scope=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(scope, _)| scope.to_owned())
        .unwrap_or_else(|| panic!("no scope in the challenge `{challenge}`"))
}

/// `GET` on the upload URL `location` as `c`.
async fn upload_status_of(c: &Client, location: &str) -> reqwest::Response {
    c.req(reqwest::Method::GET, location).send().await.unwrap()
}

/// `PATCH` of `chunk` as bytes `range` to the upload URL `location`, as `c`.
async fn patch_chunk(c: &Client, location: &str, range: &str, chunk: &[u8]) -> reqwest::Response {
    c.req(reqwest::Method::PATCH, location)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", range)
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

/// The upload status (`GET` on the upload URL): a caller without push access is challenged for
/// `pull,push` (so the token a client fetches for the challenge can read it), an invalid token
/// for `pull` (Quay's two decorators); the answer has the spec's `Location` and
/// `Range: 0-<last byte>`.
async fn upload_status(base: &str, service: &str) {
    let repo = "admin/status";
    let push = Client::login(base, service, &[&format!("repository:{repo}:pull,push")]).await;
    let resp = push.start_upload(repo).await;
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location");
    assert!(location.starts_with(&format!("{base}/v2/{repo}/blobs/uploads/")));

    // Nothing stored yet.
    let resp = upload_status_of(&push, &location).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "range"), "0-0");
    assert_eq!(header(&resp, "location"), location);

    let chunk = b"hello";
    let resp = patch_chunk(&push, &location, "0-4", chunk).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "range"), "0-4");

    // A retried chunk: 416; the status then names the last byte received.
    let resp = patch_chunk(&push, &location, "0-4", chunk).await;
    assert_eq!(resp.status(), 416);
    let resp = upload_status_of(&push, &location).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "range"), "0-4");
    assert_eq!(header(&resp, "location"), location);
    assert_eq!(
        header(&resp, "docker-upload-uuid"),
        location.rsplit('/').next().unwrap()
    );

    // Anonymous, then with a pull-only token: challenged for `pull,push`.
    let resp = client().get(&location).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        challenge_scope(&resp),
        format!("repository:{repo}:pull,push")
    );
    let pull = Client::login(base, service, &[&format!("repository:{repo}:pull")]).await;
    let resp = upload_status_of(&pull, &location).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        challenge_scope(&resp),
        format!("repository:{repo}:pull,push")
    );
    // The token fetched for that challenge reads the status.
    let retried = Client::login(base, service, &[&challenge_scope(&resp)]).await;
    let resp = upload_status_of(&retried, &location).await;
    assert_eq!(resp.status(), 204);
    // An invalid token: challenged for `pull`, as Quay's `process_registry_jwt_auth(["pull"])`.
    let resp = client()
        .get(&location)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(challenge_scope(&resp), format!("repository:{repo}:pull"));
}

/// A manifest of `config` (media type `config_type`) with one empty layer, optionally an
/// `artifactType` and a `subject`.
fn manifest(
    config_type: &str,
    config: &[u8],
    artifact_type: Option<&str>,
    subject: Option<&[u8]>,
) -> Vec<u8> {
    let empty = b"{}";
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2}],
    });
    if let Some(t) = artifact_type {
        m["artifactType"] = json!(t);
    }
    if let Some(s) = subject {
        m["subject"] = json!({"mediaType": OCI_MANIFEST, "digest": sha256(s), "size": s.len()});
    }
    serde_json::to_vec(&m).expect("JSON")
}

/// Referrers: an image manifest without `artifactType` is listed, and filtered, under its config
/// media type (the OCI spec's MUST; Quay leaves it out and filters it away).
async fn referrers_fall_back_to_the_config_media_type(base: &str, service: &str) {
    let repo = "admin/referrers";
    let c = Client::login(base, service, &[&format!("repository:{repo}:pull,push")]).await;
    let empty = b"{}".to_vec();
    let config_a = br#"{"for": "a"}"#.to_vec();
    let config_b = br#"{"for": "b"}"#.to_vec();
    for blob in [&empty, &config_a, &config_b] {
        c.push_blob(repo, blob).await;
    }
    let subject = manifest(
        "application/vnd.oci.image.config.v1+json",
        &empty,
        None,
        None,
    );
    let resp = c
        .put_manifest(repo, "subject", OCI_MANIFEST, &subject)
        .await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let type_a = "application/vnd.example.config.a";
    let type_b = "application/vnd.example.artifact.b";
    let by_config = manifest(type_a, &config_a, None, Some(&subject));
    let by_field = manifest(
        "application/vnd.example.config.ignored",
        &config_b,
        Some(type_b),
        Some(&subject),
    );
    for m in [&by_config, &by_field] {
        let resp = c.put_manifest(repo, &sha256(m), OCI_MANIFEST, m).await;
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    }
    let referrers = |filter: Option<&str>| {
        let mut path = format!("/v2/{repo}/referrers/{}", sha256(&subject));
        if let Some(f) = filter {
            path.push_str(&format!("?artifactType={f}"));
        }
        c.req(reqwest::Method::GET, &path).send()
    };

    let resp = referrers(None).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), OCI_INDEX);
    let body: Value = resp.json().await.unwrap();
    let mut listed: Vec<(String, String)> = body["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().expect("digest").to_owned(),
                m["artifactType"].as_str().expect("artifactType").to_owned(),
            )
        })
        .collect();
    listed.sort();
    let mut expected = vec![
        (sha256(&by_config), type_a.to_owned()),
        (sha256(&by_field), type_b.to_owned()),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    for (filter, want) in [(type_a, &by_config), (type_b, &by_field)] {
        let resp = referrers(Some(filter)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "oci-filters-applied"), "artifactType");
        let body: Value = resp.json().await.unwrap();
        let manifests = body["manifests"].as_array().expect("manifests");
        assert_eq!(manifests.len(), 1, "{filter}: {body}");
        assert_eq!(manifests[0]["digest"], sha256(want));
        assert_eq!(manifests[0]["artifactType"], filter);
    }
    // The ignored config type of a manifest with its own `artifactType` matches nothing.
    let resp = referrers(Some("application/vnd.example.config.ignored"))
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["manifests"], json!([]));
}

#[tokio::test]
async fn oci_conformance_regressions_on_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    upload_status(&server.base, &host).await;
    referrers_fall_back_to_the_config_media_type(&server.base, &host).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}
