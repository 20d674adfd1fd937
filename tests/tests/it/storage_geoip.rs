//! `MultiCDNStorage` continent rules on the real binary (mirror preset, SQLite, CloudFront
//! providers over one moto bucket): the GeoIP database `ip-to-country.mmdb` next to
//! `config.yaml` resolves the client address, taken as Quay's ProxyFix takes it (the last
//! `X-Forwarded-For` entry, else the TCP peer), and the blob `GET` redirects to the provider the
//! rules give for that continent, the default provider for addresses the database does not know.
//!
//! The database is the fixture of `adapters/storage/tests/fixtures/geoip` (see its
//! `generate.py`): 8.8.8.0/24 is North America, 1.1.1.0/24 Oceania.

use quay_e2e::{free_port, unique_db_name, workspace_root};

use crate::support::{Client, PASSWORD, env, serve_args, sha256, start, write_config};

/// Starts a server with MultiCDN storage and `config` added, pushes a blob, and answers the
/// host of the redirect for a blob `GET` with each `X-Forwarded-For` value (`None`: no header).
async fn redirect_hosts(config: &str, forwarded: &[Option<&'static str>]) -> Vec<String> {
    let endpoint = env("QUAY_TEST_S3_ENDPOINT");
    let bucket = unique_db_name("quay-geoip").replace('_', "-");
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace_root().join("adapters/storage/tests/fixtures/geoip/ip-to-country.mmdb"),
        dir.path().join("ip-to-country.mmdb"),
    )
    .unwrap();
    let port = free_port();
    // The RSA test key of the CDN signing vectors, as the CloudFront key.
    std::fs::copy(
        workspace_root().join("bin/tests/fixtures/cdn/cloudflare-test.pem"),
        dir.path().join("cloudfront.pem"),
    )
    .unwrap();
    let cloudfront = |domain: &str| {
        format!(
            "[CloudFrontedS3Storage, {{cloudfront_distribution_domain: {domain}, \
             cloudfront_key_id: APKATEST, cloudfront_privatekey_filename: cloudfront.pem}}]"
        )
    };
    let extra = format!(
        "DISTRIBUTED_STORAGE_CONFIG:\n  cdn:\n    - MultiCDNStorage\n    - storage_config:\n        \
         s3_bucket: {bucket}\n        storage_path: /registry\n        s3_access_key: {ak}\n        \
         s3_secret_key: {sk}\n        endpoint_url: {endpoint}\n      \
         providers:\n        na: {na}\n        oc: {oc}\n        fallback: {fallback}\n      \
         default_provider: fallback\n      \
         rules:\n        - {{continent: NA, target: na}}\n        - {{continent: OC, target: oc}}\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [cdn]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [cdn]\n{config}",
        ak = env("QUAY_TEST_S3_ACCESS_KEY"),
        sk = env("QUAY_TEST_S3_SECRET_KEY"),
        na = cloudfront("na.cdn.test"),
        oc = cloudfront("oc.cdn.test"),
        fallback = cloudfront("default.cdn.test"),
    );
    let yaml = format!("SERVER_HOSTNAME: 127.0.0.1:{port}\nPREFERRED_URL_SCHEME: http\n{extra}");
    let config_file = write_config(dir.path(), &yaml);
    let args = serve_args(
        "mirror",
        Some(&config_file),
        &dir.path().join("data"),
        Some(PASSWORD),
    );
    let mut server = start(dir.path(), &args, Some(port)).await;
    let base = server.base.clone();
    let repo = "admin/geo";
    let scope = format!("repository:{repo}:pull,push");
    let c = Client::login(&base, &format!("127.0.0.1:{port}"), &[&scope]).await;
    let token = c.token.clone();
    let data = b"a blob served by the nearest CDN ".repeat(64);
    let digest = sha256(&data);
    c.push_blob(repo, &data).await;

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{base}/v2/{repo}/blobs/{digest}");
    let host_for = |forwarded: Option<&'static str>| {
        let mut req = no_redirects.get(&url).bearer_auth(&token);
        if let Some(f) = forwarded {
            req = req.header("X-Forwarded-For", f);
        }
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 302);
            let location = resp.headers()["location"].to_str().unwrap().to_owned();
            let rest = location
                .split_once("://")
                .map_or(location.as_str(), |(_, r)| r);
            rest.split('/').next().unwrap().to_owned()
        }
    };
    let mut hosts = Vec::new();
    for f in forwarded {
        hosts.push(host_for(*f).await);
    }
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    hosts
}

#[tokio::test]
async fn blob_get_redirects_to_the_provider_of_the_clients_continent() {
    let hosts = redirect_hosts(
        "",
        &[
            None,
            Some("8.8.8.8"),
            Some("8.8.8.8, 1.1.1.1"),
            Some("1.1.1.1, 127.0.0.1"),
            Some("unknown"),
        ],
    )
    .await;
    assert_eq!(
        hosts,
        [
            // The client's own address (127.0.0.1): not in the database, the default provider.
            "default.cdn.test",
            "na.cdn.test",
            // One trusted hop: the last entry is the address, earlier ones are the client's.
            "oc.cdn.test",
            "default.cdn.test",
            // Not an address: the TCP peer.
            "default.cdn.test",
        ]
    );
}

#[tokio::test]
async fn proxy_count_zero_ignores_x_forwarded_for() {
    let hosts = redirect_hosts("PROXY_COUNT: 0\n", &[Some("8.8.8.8"), Some("1.1.1.1")]).await;
    assert_eq!(hosts, ["default.cdn.test", "default.cdn.test"]);
}
