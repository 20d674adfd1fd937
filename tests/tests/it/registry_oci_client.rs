//! A real registry client (the `oci-client` crate, native-tls) pushes an image to the binary
//! (mirror preset) through the token flow of `/v2/auth`, pulls it back, lists its tags and
//! fetches its manifest by digest.

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::support::{PASSWORD, serve_args, start};

#[tokio::test]
async fn oci_client_push_and_pull_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let auth = RegistryAuth::Basic("admin".into(), "password123".into());
    let reference: Reference = format!("{host}/admin/ociclient:v1").parse().unwrap();

    let layer = ImageLayer::oci_v1(b"layer bytes from oci-client".repeat(500), None);
    let config = Config::oci_v1(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
        None,
    );
    let pushed = client
        .push(
            &reference,
            std::slice::from_ref(&layer),
            config,
            &auth,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("push failed: {e}\n{}", server.output()));
    assert!(
        pushed
            .manifest_url
            .contains("/v2/admin/ociclient/manifests/")
    );

    let image = client
        .pull(
            &reference,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap_or_else(|e| panic!("pull failed: {e}\n{}", server.output()));
    assert_eq!(image.layers.len(), 1);
    assert_eq!(image.layers[0].data, layer.data);

    let tags = client
        .list_tags(&reference, &auth, None, None)
        .await
        .unwrap();
    assert_eq!(tags.tags, vec!["v1".to_owned()]);
    let digest = image.digest.expect("manifest digest");
    let by_digest: Reference = format!("{host}/admin/ociclient@{digest}").parse().unwrap();
    let (manifest, got) = client.pull_manifest(&by_digest, &auth).await.unwrap();
    assert_eq!(got, digest);
    assert!(matches!(
        manifest,
        oci_client::manifest::OciManifest::Image(_)
    ));
    assert!(server.terminate().unwrap().success());
}
