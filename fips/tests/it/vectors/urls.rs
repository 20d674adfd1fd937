//! CloudFront, CloudFlare, Akamai and Swift signed URLs.

use openssl::hash::MessageDigest;
use quay_fips::cdn::{self, CdnParams, CloudFrontHash, SwiftTempUrl};
use quay_fips::error::CryptoError;
use quay_fips::{b64, jwk, jwt};
use quay_ports::crypto::JsonValue;

use super::{Outcome, Vector, check_eq};

pub fn run(v: &Vector<'_>, primitive: &str, op: &str) -> Result<Outcome, String> {
    match (primitive, op) {
        ("cloudfront_signed_url", "sign") => cloudfront(v),
        ("cloudflare_signed_url", "sign") => cloudflare(v),
        ("akamai_edgeauth_url", "sign") => akamai(v),
        ("swift_tempurl", "sign") => swift(v),
        _ => Err(format!("no runner for {primitive}/{op}")),
    }
}

/// Python's `str(value)` for urlencode.
fn py_str(value: &JsonValue) -> String {
    match value {
        JsonValue::Null => "None".to_owned(),
        JsonValue::Bool(true) => "True".to_owned(),
        JsonValue::Bool(false) => "False".to_owned(),
        JsonValue::Int(i) => i.to_string(),
        JsonValue::Str(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn kwargs<'a>(v: &'a Vector<'_>) -> Vec<(&'a str, String)> {
    match v.input.get("kwargs") {
        Some(JsonValue::Object(pairs)) => pairs
            .iter()
            .map(|(k, val)| (k.as_str(), py_str(val)))
            .collect(),
        _ => Vec::new(),
    }
}

fn params<'a>(v: &'a Vector<'_>) -> CdnParams<'a> {
    let get = |name| {
        v.input
            .get("kwargs")
            .and_then(|k| k.get(name))
            .and_then(JsonValue::as_str)
    };
    CdnParams {
        namespace: get("namespace"),
        username: get("username"),
        repo_name: get("repo_name"),
    }
}

fn cloudfront(v: &Vector<'_>) -> Result<Outcome, String> {
    let key = jwk::private_key_from_pem(v.key_pem("private_key")).map_err(|e| e.to_string())?;
    let kw = kwargs(v);
    let namespace = v
        .input
        .get("kwargs")
        .and_then(|k| k.get("namespace"))
        .and_then(JsonValue::as_str);
    let domain = match (namespace, v.input.get("org_overrides")) {
        (Some(ns), Some(overrides)) if !kw.is_empty() => overrides
            .get(ns)
            .and_then(JsonValue::as_str)
            .unwrap_or(v.s("domain")),
        _ => v.s("domain"),
    };
    let url = cdn::cloudfront_resource(domain, v.s("path"), &kw);
    let expires = v.i("now") + v.i("expires_in");
    let result = cdn::cloudfront_sign(
        &url,
        expires,
        v.s("key_pair_id"),
        &key,
        CloudFrontHash::Sha1,
    );
    if v.fips {
        match result {
            Err(CryptoError::FipsForbidden { config_key, .. })
                if config_key.contains("CloudFront") => {}
            Err(e) => {
                return Err(format!(
                    "under FIPS, expected FipsForbidden naming the CloudFront key, got {e}"
                ));
            }
            Ok(_) => return Err("under FIPS, RSA-SHA1 signing must be refused".to_owned()),
        }
        // Legacy verification of Python's SHA-1 signature still works, and SHA-256 signing is offered.
        let want = v.exp_s("url").unwrap_or_default();
        let sig = want
            .split("Signature=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .unwrap_or_default();
        let sig = b64::std_decode(&sig.replace('-', "+").replace('_', "=").replace('~', "/"))
            .ok_or("bad signature b64")?;
        let policy = v.exp_s("canned_policy").unwrap_or_default();
        let public = jwk::public_of(&key).map_err(|e| e.to_string())?;
        if !jwt::verify_rsa(MessageDigest::sha1(), &public, policy.as_bytes(), &sig)
            .map_err(|e| e.to_string())?
        {
            return Err("SHA-1 legacy verification failed under FIPS".to_owned());
        }
        cdn::cloudfront_sign(
            &url,
            expires,
            v.s("key_pair_id"),
            &key,
            CloudFrontHash::Sha256,
        )
        .map_err(|e| format!("SHA-256 CloudFront signing failed under FIPS: {e}"))?;
        return Ok(Outcome::ForbiddenUnderFips);
    }
    let (signed, policy) = result.map_err(|e| e.to_string())?;
    if let Some(want) = v.exp_s("canned_policy") {
        check_eq("policy", &policy, want)?;
    }
    if let Some(want) = v.exp_s("resource") {
        check_eq("resource", &url, want)?;
    }
    check_eq("url", &signed, v.exp_s("url").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn cloudflare(v: &Vector<'_>) -> Result<Outcome, String> {
    let key = jwk::private_key_from_pem(v.key_pem("private_key")).map_err(|e| e.to_string())?;
    let expires = v.i("now") + v.i("expires_in");
    let (url, sign_data) = cdn::cloudflare_sign(
        v.s("s3_presigned_url"),
        v.s("domain"),
        v.s("region"),
        expires,
        &params(v),
        &key,
    )
    .map_err(|e| e.to_string())?;
    if let Some(want) = v.exp_s("sign_data") {
        check_eq("sign data", &sign_data, want)?;
    }
    check_eq("url", &url, v.exp_s("url").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn akamai(v: &Vector<'_>) -> Result<Outcome, String> {
    let url = cdn::akamai_sign(
        v.s("s3_presigned_url"),
        v.s("domain"),
        v.s("region"),
        &params(v),
        v.s("shared_secret_hex"),
        v.i("now"),
    )
    .map_err(|e| e.to_string())?;
    check_eq("url", &url, v.exp_s("url").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn swift(v: &Vector<'_>) -> Result<Outcome, String> {
    let cfg = SwiftTempUrl {
        storage_url: v.s("storage_url"),
        container: v.s("container"),
        storage_path: v.s("storage_path"),
        simple_path_concat: v.b("simple_path_concat"),
        temp_url_key: v.s("temp_url_key"),
    };
    let url = cdn::swift_temp_url(
        &cfg,
        v.s("object_path"),
        v.b("head"),
        v.i("now") + v.i("expires_in"),
    )
    .map_err(|e| e.to_string())?;
    check_eq("url", &url, v.exp_s("url").unwrap_or_default())?;
    Ok(Outcome::Pass)
}
