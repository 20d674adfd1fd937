//! FIPS-mode checks. With `QUAY_EXPECT_FIPS=1` (set by `cargo xtask fips test`) the FIPS provider
//! must be enforced, so the second pass cannot silently run on the default provider.

use quay_fips::error::CryptoError;
use quay_fips::provider;

fn expect_fips() -> bool {
    std::env::var("QUAY_EXPECT_FIPS").is_ok_and(|v| v == "1")
}

#[test]
fn provider_matches_expectation() {
    let status = provider::status();
    println!("{status}");
    if expect_fips() {
        assert!(
            status.fips_enforced(),
            "QUAY_EXPECT_FIPS=1 but FIPS is not enforced:\n{status}"
        );
        provider::enforce(true).expect("enforce(true) under FIPS");
    } else if !status.fips_enforced() {
        let err = provider::enforce(true).expect_err("enforce(true) without FIPS must refuse");
        let text = err.to_string();
        assert!(
            text.contains("FEATURE_FIPS") && text.contains("OPENSSL_CONF"),
            "{text}"
        );
        provider::enforce(false).expect("enforce(false) always starts");
    }
}

#[test]
fn forbidden_algorithms_fail_clearly_under_fips() {
    if !provider::fips_enforced() {
        return;
    }
    let err =
        quay_fips::smtp::cram_md5_response("u", "p", "AAAA").expect_err("CRAM-MD5 under FIPS");
    assert!(matches!(err, CryptoError::FipsForbidden { .. }));
    assert!(err.to_string().contains("MAIL_USE_TLS"), "{err}");
    // RSA below 2048 bits is refused by us, and the EVP path is used for 2048.
    assert!(quay_fips::jwk::generate_rsa(1024).is_err());
    quay_fips::jwk::generate_rsa(2048).expect("RSA-2048 keygen under FIPS");
    quay_fips::tls::self_signed(&["localhost".to_owned()]).expect("TLS certificate under FIPS");
    let portable = quay_fips::upload_state::PortableSha256Digester::new(
        quay_fips::upload_state::ByteOrder::Little,
    );
    assert!(matches!(portable, Err(CryptoError::FipsForbidden { .. })));
}

#[test]
fn rsa_keygen_jwk_round_trip() {
    let key = quay_fips::jwk::generate_rsa(2048).expect("keygen");
    let jwk = quay_fips::jwk::public_jwk(&key).expect("jwk");
    let kid = quay_fips::jwk::rsa_thumbprint(&key).expect("kid");
    assert_eq!(jwk.get("kid").and_then(|k| k.as_str()), Some(kid.as_str()));
    let public = quay_fips::jwk::jwk_to_public_key(&jwk).expect("public from jwk");
    assert!(public.public_eq(&key));
    let ssh = quay_fips::jwk::openssh_public_key(&key).expect("ssh");
    assert!(ssh.starts_with("ssh-rsa AAAAB3NzaC1yc2E"));

    // A second instance signs; this one knows its key only as a stored JWK.
    use quay_ports::crypto::{JsonValue, RegistryTokenRequest, TokenError, TokenSigner as _};
    let pem = String::from_utf8(key.private_key_to_pem_pkcs8().expect("pem")).expect("utf8");
    let signer = quay_fips::RegistryTokens::from_pem("quay", &kid, &pem, 3660).expect("signer");
    let other = quay_fips::jwk::generate_rsa(2048).expect("keygen");
    let mut verifier = quay_fips::RegistryTokens::new("quay", "other", other, 3660)
        .expect("verifier")
        .with_service_keys(Default::default());
    let request = RegistryTokenRequest {
        audience: "quay.example.com".to_owned(),
        subject: "devtable".to_owned(),
        access: JsonValue::Array(vec![]),
        context: JsonValue::Object(vec![]),
        lifetime_s: 3600,
    };
    let token = signer.sign(&request, 1_700_000_000).expect("sign");
    assert!(matches!(
        verifier.verify(&token, "quay.example.com", 1_700_000_001),
        Err(TokenError::UnknownKid)
    ));
    verifier.add_service_jwk(&jwk).expect("add jwk");
    let verified = verifier
        .verify(&token, "quay.example.com", 1_700_000_001)
        .expect("verify");
    assert_eq!(verified.kid, kid);
}
