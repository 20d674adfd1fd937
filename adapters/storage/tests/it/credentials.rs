//! The AWS default credential chain against moto (`cargo xtask services up`): STS
//! `AssumeRoleWithWebIdentity`, the instance metadata service and a container credentials
//! endpoint are moto's real HTTP endpoints; environment and shared files are read from a
//! temporary home. An `S3Storage` location configured without keys then stores with what the
//! chain found.

use std::sync::Arc;

use quay_adapter_storage::aws_credentials::{AwsEnv, CredentialSource, DefaultChain};
use quay_adapter_storage::factory::{DriverDeps, build_driver};

use crate::support::{CliCrypto, service_env, unique};

fn chain(vars: &[(&str, String)], home: &std::path::Path) -> DefaultChain {
    let mut all: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    // Never reach a real metadata service unless a test points the chain at moto.
    if !vars
        .iter()
        .any(|(k, _)| *k == "AWS_EC2_METADATA_SERVICE_ENDPOINT")
    {
        all.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
    }
    DefaultChain::new(AwsEnv::from_vars(all, Some(home.to_path_buf())))
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn moto() -> String {
    service_env("QUAY_TEST_S3_ENDPOINT")
}

#[tokio::test]
async fn environment_variables_come_first() {
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "jwt").unwrap();
    let c = chain(
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "secret".into()),
            ("AWS_SESSION_TOKEN", "tok".into()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/quay".into()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        ],
        home.path(),
    );
    let r = c.resolve(&client()).await.unwrap();
    assert_eq!(r.source, CredentialSource::Environment);
    assert_eq!(r.credentials.access_key, "AKIDENV");
    assert!(r.credentials.session_token.is_some());
    assert_eq!(r.expires_unix, None);
}

#[tokio::test]
async fn shared_credentials_and_config_files_by_profile() {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\
         [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s2\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s3\n\
         [profile chained]\nsource_profile = dev\nrole_arn = arn:aws:iam::1:role/x\n",
    )
    .unwrap();
    let got = |profile: Option<&str>| {
        let vars: Vec<(&str, String)> = profile
            .map(|p| vec![("AWS_PROFILE", p.to_owned())])
            .unwrap_or_default();
        let c = chain(&vars, home.path());
        async move { c.resolve(&client()).await }
    };
    let r = got(None).await.unwrap();
    assert_eq!(
        (r.credentials.access_key.as_str(), r.source),
        ("AKIDDEFAULT", CredentialSource::SharedCredentialsFile)
    );
    let r = got(Some("dev")).await.unwrap();
    assert_eq!(r.credentials.access_key, "AKIDDEV");
    let r = got(Some("cfg")).await.unwrap();
    assert_eq!(
        (r.credentials.access_key.as_str(), r.source),
        ("AKIDCFG", CredentialSource::ConfigFile)
    );
    // Unsupported and unknown profiles are errors, not silently anonymous.
    assert!(got(Some("chained")).await.is_err());
    let err = got(Some("nope")).await.unwrap_err().to_string();
    assert!(!err.is_empty());
    // Files named by variables.
    let other = home.path().join("elsewhere");
    std::fs::write(
        &other,
        "[default]\naws_access_key_id = AKIDVAR\naws_secret_access_key = s\n",
    )
    .unwrap();
    let c = chain(
        &[("AWS_SHARED_CREDENTIALS_FILE", other.display().to_string())],
        home.path(),
    );
    assert_eq!(
        c.resolve(&client()).await.unwrap().credentials.access_key,
        "AKIDVAR"
    );
}

#[tokio::test]
async fn web_identity_through_sts_assume_role_with_web_identity() {
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.sig\n").unwrap();
    let c = chain(
        &[
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/quay".into()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_SESSION_NAME", "quay-rs".into()),
            ("AWS_ENDPOINT_URL_STS", moto()),
        ],
        home.path(),
    );
    let r = c.resolve(&client()).await.unwrap();
    assert_eq!(r.source, CredentialSource::WebIdentity);
    assert!(r.credentials.access_key.starts_with("ASIA"), "{r:?}");
    assert!(r.credentials.session_token.is_some());
    assert!(r.expires_unix.unwrap() > quay_adapter_storage::now_unix());
    // Cached: the same temporary credentials until they near expiry.
    let again = c.resolve(&client()).await.unwrap();
    assert_eq!(again.credentials.access_key, r.credentials.access_key);

    // A missing token file is a clear error.
    let c = chain(
        &[
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/quay".into()),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                home.path().join("missing").display().to_string(),
            ),
            ("AWS_ENDPOINT_URL_STS", moto()),
        ],
        home.path(),
    );
    assert!(c.resolve(&client()).await.is_err());
}

#[tokio::test]
async fn instance_metadata_and_container_endpoints() {
    let home = tempfile::tempdir().unwrap();
    let c = chain(
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", moto())],
        home.path(),
    );
    let r = c.resolve(&client()).await.unwrap();
    assert_eq!(r.source, CredentialSource::InstanceMetadata);
    assert!(!r.credentials.access_key.is_empty());
    assert!(r.credentials.session_token.is_some());
    assert!(r.expires_unix.is_some());

    // The container endpoint answers the same JSON shape as moto's instance role document.
    let c = chain(
        &[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!(
                    "{}/latest/meta-data/iam/security-credentials/default-role",
                    moto()
                ),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer x".into()),
        ],
        home.path(),
    );
    let r = c.resolve(&client()).await.unwrap();
    assert_eq!(r.source, CredentialSource::Container);
    assert!(r.credentials.session_token.is_some());

    // Nothing anywhere: an error naming the way out.
    let c = chain(&[], home.path());
    let err = c.resolve(&client()).await.unwrap_err();
    assert!(format!("{err:?}").contains("no AWS credentials"), "{err:?}");
}

#[tokio::test]
async fn an_s3_location_without_keys_stores_with_the_chain() {
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "jwt").unwrap();
    let deps = DriverDeps {
        crypto: Arc::new(CliCrypto),
        cdn_signers: None,
        client_network: None,
        chunk_cleanup: None,
        aws_chain: Some(Arc::new(chain(
            &[
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/quay".into()),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
                ("AWS_ENDPOINT_URL_STS", moto()),
            ],
            home.path(),
        ))),
    };
    let root = unique("chain");
    crate::s3::open(&root).await; // creates the bucket
    let params = serde_json::json!({
        "storage_path": format!("/{root}"),
        "s3_bucket": crate::s3::BUCKET,
        "endpoint_url": moto(),
    });
    let s = build_driver("chain", "S3Storage", &params, &deps).unwrap();
    s.put(
        "sha256/ab/abcd",
        quay_ports::storage::stream::once("chain"),
        Some(5),
    )
    .await
    .unwrap();
    assert_eq!(
        &s.get_bytes("sha256/ab/abcd", 10).await.unwrap()[..],
        b"chain"
    );
    // Presigned URLs carry the temporary credentials' session token.
    let url = s
        .direct_download_url(
            "sha256/ab/abcd",
            &quay_ports::storage::DownloadUrlRequest::get(
                quay_adapter_storage::now_unix(),
                std::time::Duration::from_secs(600),
            ),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(url.as_str().contains("X-Amz-Security-Token="), "{url}");
    assert!(url.as_str().contains("X-Amz-Credential=ASIA"), "{url}");
    // Without a chain the factory refuses a keyless location.
    let no_chain = DriverDeps {
        aws_chain: None,
        ..deps.clone()
    };
    assert!(build_driver("chain", "S3Storage", &params, &no_chain).is_err());
}
