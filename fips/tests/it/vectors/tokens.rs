//! Registry, build and storage-proxy JWTs, OIDC, Clair HS256, service-key JWKs.

use std::collections::HashMap;

use openssl::pkey::{PKey, Public};
use quay_fips::jwk;
use quay_fips::jwt::{self, Alg, RegistryTokens, bearer_token};
use quay_ports::crypto::{JsonValue, RegistryTokenRequest, TokenError, TokenSigner as _};

use super::{Outcome, Vector, check_eq, json_eq};

pub fn run(v: &Vector<'_>, primitive: &str, op: &str) -> Result<Outcome, String> {
    match (primitive, op) {
        ("registry_jwt_rs256", "sign") => registry_sign(v),
        ("registry_jwt_rs256", "verify") => registry_verify(v),
        ("registry_jwt_rs256", "verify_header") => verify_header(v),
        ("storage_proxy_jwt", "sign") => proxy_sign(v),
        ("storage_proxy_jwt", "verify") => proxy_verify(v),
        ("oidc_jwt_verify", "verify") => oidc_verify(v),
        ("secscan_jwt_hs256", "sign") => secscan_sign(v),
        ("secscan_jwt_hs256", "verify") => secscan_verify(v),
        ("service_key_jwk", "jwk_thumbprint") => thumbprint(v),
        _ => Err(format!("no runner for {primitive}/{op}")),
    }
}

fn tokens_for(
    v: &Vector<'_>,
    key_field: &str,
    kid: &str,
    issuer: &str,
    max_fresh: i64,
) -> Result<RegistryTokens, String> {
    let key = jwk::private_key_from_pem(v.key_pem(key_field)).map_err(|e| e.to_string())?;
    RegistryTokens::new(issuer, kid, key, max_fresh).map_err(|e| e.to_string())
}

fn public_key(v: &Vector<'_>, key_name: &str) -> Result<PKey<Public>, String> {
    let pem = v
        .keys
        .get(key_name)
        .and_then(|k| k.get("private_pem"))
        .and_then(JsonValue::as_str)
        .ok_or_else(|| format!("key {key_name} missing"))?;
    let private = jwk::private_key_from_pem(pem).map_err(|e| e.to_string())?;
    jwk::public_of(&private).map_err(|e| e.to_string())
}

fn service_keys(v: &Vector<'_>) -> Result<HashMap<String, PKey<Public>>, String> {
    let mut map = HashMap::new();
    match v.input.get("keys") {
        Some(JsonValue::Object(pairs)) => {
            for (kid, name) in pairs {
                let name = name.as_str().ok_or("key name is not a string")?;
                map.insert(kid.clone(), public_key(v, name)?);
            }
        }
        _ => {
            let name = v.s("public_key");
            let kid = v.key_kid(name).ok_or("public key without kid")?.to_owned();
            map.insert(kid, public_key(v, name)?);
        }
    }
    Ok(map)
}

fn issuer<'a>(v: &'a Vector<'_>) -> &'a str {
    v.input
        .get("issuer")
        .and_then(JsonValue::as_str)
        .unwrap_or("quay")
}

fn registry_sign(v: &Vector<'_>) -> Result<Outcome, String> {
    let tokens = tokens_for(v, "private_key", v.s("kid"), issuer(v), 3660)?;
    let request = if v.input.get("token_type").is_some() {
        RegistryTokenRequest {
            audience: v.s("audience").to_owned(),
            subject: "(anonymous)".to_owned(),
            access: JsonValue::Object(Vec::new()),
            context: JsonValue::object([
                ("token_type", JsonValue::str(v.s("token_type"))),
                ("build_id", JsonValue::str(v.s("build_id"))),
                ("job_id", JsonValue::str(v.s("job_id"))),
                ("expiration", JsonValue::Int(v.i("expiration"))),
            ]),
            lifetime_s: v.i("expiration"),
        }
    } else {
        RegistryTokenRequest {
            audience: v.s("audience").to_owned(),
            subject: v.s("subject").to_owned(),
            access: v.input.get("access").cloned().ok_or("access missing")?,
            context: v.input.get("context").cloned().ok_or("context missing")?,
            lifetime_s: v.i("lifetime_s"),
        }
    };
    let token = tokens
        .sign(&request, v.i("now"))
        .map_err(|e| e.to_string())?;
    let mut segments = token.split('.');
    let decode = |s: Option<&str>| {
        s.and_then(quay_fips::b64::url_nopad_decode)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let header = decode(segments.next());
    let payload = decode(segments.next());
    if let Some(want) = v.exp_s("header_json") {
        check_eq("header", &header, want)?;
    }
    if let Some(want) = v.exp_s("payload_json") {
        check_eq("payload", &payload, want)?;
    }
    check_eq("token", &token, v.exp_s("token").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn category(e: &TokenError) -> &'static str {
    match e {
        TokenError::Malformed => "malformed",
        TokenError::AlgNotAllowed => "alg_not_allowed",
        TokenError::MissingKid => "missing_kid",
        TokenError::UnknownKid => "unknown_kid",
        TokenError::BadSignature => "bad_signature",
        TokenError::Expired => "expired",
        TokenError::NotYetValid => "not_yet_valid",
        TokenError::BadAudience => "bad_audience",
        TokenError::BadIssuer => "bad_issuer",
        TokenError::LifetimeTooLong => "lifetime_too_long",
        TokenError::MissingClaim(_) => "missing_claim",
        TokenError::Backend(_) => "backend",
    }
}

/// Compares a verification result with `expected.valid`, `payload` and `category`.
fn judge(v: &Vector<'_>, result: Result<JsonValue, TokenError>) -> Result<Outcome, String> {
    let valid = matches!(v.expected.get("valid"), Some(JsonValue::Bool(true)));
    match (valid, result) {
        (true, Ok(payload)) => {
            if let Some(want) = v.expected.get("payload")
                && !json_eq(&payload, want)
            {
                return Err(format!("payload differs: {payload:?}"));
            }
            Ok(Outcome::Pass)
        }
        (true, Err(e)) => Err(format!("refused a valid token: {e}")),
        (false, Ok(_)) => Err("accepted an invalid token".to_owned()),
        (false, Err(e)) => match v.exp_s("category") {
            Some(want) if want != category(&e) => Err(format!(
                "refused for the wrong reason: {} ({e}), want {want}",
                category(&e)
            )),
            _ => Ok(Outcome::Pass),
        },
    }
}

fn registry_verify(v: &Vector<'_>) -> Result<Outcome, String> {
    let keys = service_keys(v)?;
    let first_name = v
        .keys
        .get("jwt_pub")
        .map(|_| "jwt_pub")
        .ok_or("jwt_pub missing")?;
    let signing = jwk::private_key_from_pem(
        v.keys
            .get(first_name)
            .and_then(|k| k.get("private_pem"))
            .and_then(JsonValue::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let max_fresh = v
        .input
        .get("max_fresh_s")
        .and_then(JsonValue::as_i64)
        .unwrap_or(3660);
    let tokens = RegistryTokens::new(issuer(v), "unused", signing, max_fresh)
        .map_err(|e| e.to_string())?
        .with_service_keys(keys);
    let result = if let Some(token_type) = v.input.get("token_type").and_then(JsonValue::as_str) {
        tokens.verify_build_token(v.s("token"), v.s("audience"), token_type, v.i("now"))
    } else {
        tokens.verify(v.s("token"), v.s("audience"), v.i("now"))
    };
    judge(v, result.map(|t| t.claims))
}

fn verify_header(v: &Vector<'_>) -> Result<Outcome, String> {
    let keys = service_keys(v)?;
    let signing = jwk::private_key_from_pem(
        v.keys
            .get("jwt_pub")
            .and_then(|k| k.get("private_pem"))
            .and_then(JsonValue::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let tokens = RegistryTokens::new(issuer(v), "unused", signing, 3660)
        .map_err(|e| e.to_string())?
        .with_service_keys(keys);
    let result = bearer_token(v.s("authorization"))
        .and_then(|t| tokens.verify(t, v.s("audience"), v.i("now")))
        .map(|t| t.claims);
    judge(v, result)
}

fn proxy_sign(v: &Vector<'_>) -> Result<Outcome, String> {
    let tokens = tokens_for(v, "private_key", v.s("kid"), "quay", 3660)?;
    let url = tokens
        .storage_proxy_url(
            v.s("server_hostname"),
            v.s("preferred_url_scheme"),
            v.s("download_url"),
            v.i("now"),
        )
        .map_err(|e| e.to_string())?;
    check_eq("proxy url", &url, v.exp_s("proxy_url").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn proxy_verify(v: &Vector<'_>) -> Result<Outcome, String> {
    let keys = service_keys(v)?;
    let signing = jwk::private_key_from_pem(v.key_pem("public_key")).map_err(|e| e.to_string())?;
    let tokens = RegistryTokens::new("quay", "unused", signing, 3660)
        .map_err(|e| e.to_string())?
        .with_service_keys(keys);
    let ok = tokens
        .verify_storage_proxy_uri(v.s("x_original_uri"), v.s("server_hostname"), v.i("now"))
        .is_ok();
    let want = v.expected.get("http_status").and_then(JsonValue::as_i64) == Some(200);
    if ok == want {
        Ok(Outcome::Pass)
    } else {
        Err(format!("accepted={ok}, want {want}"))
    }
}

fn algs(v: &Vector<'_>) -> Result<Vec<Alg>, String> {
    let Some(JsonValue::Array(names)) = v.input.get("algorithms") else {
        return Ok(vec![Alg::Rs256]);
    };
    names
        .iter()
        .map(|n| match n.as_str() {
            Some("RS256") => Ok(Alg::Rs256),
            Some("RS384") => Ok(Alg::Rs384),
            Some("HS256") => Ok(Alg::Hs256),
            other => Err(format!("algorithm {other:?}")),
        })
        .collect()
}

fn oidc_verify(v: &Vector<'_>) -> Result<Outcome, String> {
    let key = public_key(v, v.s("public_key"))?;
    let result = jwt::verify_oidc(
        v.s("token"),
        &key,
        &algs(v)?,
        v.s("audience"),
        v.s("issuer"),
        v.i("now"),
    );
    judge(v, result)
}

fn psk(v: &Vector<'_>) -> Result<Vec<u8>, String> {
    quay_fips::b64::std_decode(v.s("psk_b64")).ok_or_else(|| "psk is not base64".to_owned())
}

fn secscan_sign(v: &Vector<'_>) -> Result<Outcome, String> {
    let token = jwt::sign_secscan(&psk(v)?, v.i("now")).map_err(|e| e.to_string())?;
    check_eq("token", &token, v.exp_s("token").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn secscan_verify(v: &Vector<'_>) -> Result<Outcome, String> {
    judge(v, jwt::verify_secscan(v.s("token"), &psk(v)?, v.i("now")))
}

fn thumbprint(v: &Vector<'_>) -> Result<Outcome, String> {
    let key = jwk::private_key_from_pem(v.s("private_pem")).map_err(|e| e.to_string())?;
    let kid = jwk::rsa_thumbprint(&key).map_err(|e| e.to_string())?;
    check_eq("kid", &kid, v.exp_s("kid").unwrap_or_default())?;
    let stored = jwk::public_jwk(&key).map_err(|e| e.to_string())?;
    let want = v.expected.get("jwk").ok_or("jwk missing")?;
    check_eq("jwk", &jwk::jwk_json(&stored), &jwk::jwk_json(want))?;
    let from_jwk = jwk::jwk_to_public_key(want).map_err(|e| e.to_string())?;
    let pem = String::from_utf8(from_jwk.public_key_to_pem().map_err(|e| e.to_string())?)
        .unwrap_or_default();
    check_eq(
        "public pem",
        &pem,
        v.exp_s("public_pem_from_jwk").unwrap_or_default(),
    )?;
    Ok(Outcome::Pass)
}
