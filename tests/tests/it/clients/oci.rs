//! The `oci-client` crate (built with native-tls): an image pushed with its chunked uploads and
//! again with monolithic uploads, a raw manifest pushed byte for byte, then everything pulled
//! back by a fresh client and compared.

use std::path::Path;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::header::HeaderValue;

use super::layout::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, image, manifest, sha256};
use super::target::{PASSWORD, Target, USER};

fn client(monolithic: bool) -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        use_monolithic_push: monolithic,
        ..ClientConfig::default()
    })
}

fn reference(target: &Target, tag: &str) -> Reference {
    format!("{}:{tag}", target.repo("oci-client"))
        .parse()
        .expect("a valid reference")
}

/// Push (chunked, monolithic, raw manifest) → pull with a fresh client → compare.
pub async fn round_trip(target: &Target, dir: &Path) {
    let auth = RegistryAuth::Basic(USER.to_owned(), PASSWORD.to_owned());
    let original = image(&dir.join("scratch"), "amd64", 51);
    let layers: Vec<ImageLayer> = original
        .layers
        .iter()
        .map(|l| ImageLayer::new(l.clone(), OCI_LAYER_GZIP.to_owned(), None))
        .collect();
    let config = Config::new(original.config.clone(), OCI_CONFIG.to_owned(), None);

    for (tag, monolithic) in [("chunked", false), ("monolithic", true)] {
        client(monolithic)
            .push(
                &reference(target, tag),
                &layers,
                config.clone(),
                &auth,
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("oci-client push ({tag}): {e}\n{}", target.output()));
    }
    let ours = manifest(&original);
    let raw_pusher = client(false);
    // push_manifest_raw sends only credentials already negotiated: authenticate first.
    raw_pusher
        .auth(&reference(target, "raw"), &auth, RegistryOperation::Push)
        .await
        .unwrap_or_else(|e| panic!("oci-client auth for push: {e}\n{}", target.output()));
    raw_pusher
        .push_manifest_raw(
            &reference(target, "raw"),
            ours.clone(),
            HeaderValue::from_static(OCI_MANIFEST),
        )
        .await
        .unwrap_or_else(|e| panic!("oci-client push_manifest_raw: {e}\n{}", target.output()));

    let puller = client(false);
    for tag in ["chunked", "monolithic", "raw"] {
        let image_ref = reference(target, tag);
        let (raw, digest) = puller
            .pull_manifest_raw(&image_ref, &auth, &[OCI_MANIFEST])
            .await
            .unwrap_or_else(|e| panic!("pull_manifest_raw {tag}: {e}"));
        assert_eq!(
            digest,
            sha256(&raw),
            "{tag}: the served digest names the bytes"
        );
        if tag == "raw" {
            assert_eq!(
                raw.as_ref(),
                ours.as_slice(),
                "the raw manifest is served unchanged"
            );
        }
        let pulled = puller
            .pull(&image_ref, &auth, vec![OCI_LAYER_GZIP])
            .await
            .unwrap_or_else(|e| panic!("oci-client pull {tag}: {e}"));
        assert_eq!(pulled.digest.as_deref(), Some(digest.as_str()), "{tag}");
        assert_eq!(
            pulled.config.data.as_ref(),
            original.config.as_slice(),
            "{tag}"
        );
        // oci-client downloads layers concurrently and returns them in completion order.
        let mut got: Vec<&[u8]> = pulled.layers.iter().map(|l| l.data.as_ref()).collect();
        let mut want: Vec<&[u8]> = original.layers.iter().map(Vec::as_slice).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert!(got == want, "{tag}: the pulled layers differ");
    }
    let tags = puller
        .list_tags(&reference(target, "raw"), &auth, None, None)
        .await
        .expect("oci-client list_tags");
    let mut names = tags.tags.clone();
    names.sort();
    assert_eq!(names, ["chunked", "monolithic", "raw"]);
}
