//! Digests, storage paths, v1 checksums, PKCE, public/private tokens, CRAM-MD5, schema 1, Flask.

use quay_fips::error::CryptoError;
use quay_fips::{b64, digest, jwk, schema1, smtp, tarsum};
use quay_ports::crypto::JsonValue;

use super::{Outcome, Vector, check_eq};

pub fn run(v: &Vector<'_>, primitive: &str, op: &str) -> Result<Outcome, String> {
    match (primitive, op) {
        ("digest_sha256", "digest") => {
            let data = b64::std_decode(v.s("data_b64")).ok_or("bad base64")?;
            let d = digest::sha256_digest(&data).map_err(|e| e.to_string())?;
            check_eq("digest", &d, v.exp_s("digest").unwrap_or_default())?;
            let path = digest::content_path(&d).map_err(|e| e.to_string())?;
            check_eq(
                "content path",
                &path,
                v.exp_s("content_path").unwrap_or_default(),
            )?;
            Ok(Outcome::Pass)
        }
        ("digest_sha256", "content_path") => {
            let path = digest::content_path(v.s("digest")).map_err(|e| e.to_string())?;
            check_eq(
                "content path",
                &path,
                v.exp_s("content_path").unwrap_or_default(),
            )?;
            Ok(Outcome::Pass)
        }
        ("docker_v1_checksum", "checksums") => checksums(v),
        ("pkce_s256", "challenge") => {
            let c = digest::pkce_challenge(v.s("verifier"), "S256").map_err(|e| e.to_string())?;
            check_eq("challenge", &c, v.exp_s("challenge").unwrap_or_default())?;
            let p = digest::pkce_challenge(v.s("verifier"), "plain").map_err(|e| e.to_string())?;
            check_eq("plain", &p, v.exp_s("plain").unwrap_or_default())?;
            Ok(Outcome::Pass)
        }
        ("public_private_token", "encode") => pptoken(v),
        ("smtp_cram_md5", "respond") => cram(v),
        ("docker_schema1_jws", "sign") => schema1_sign(v),
        ("docker_schema1_jws", "verify") => {
            let result = schema1::verify(v.s("manifest"));
            let valid = matches!(v.expected.get("valid"), Some(JsonValue::Bool(true)));
            match (valid, result) {
                (true, Ok(d)) => {
                    check_eq("digest", &d, v.exp_s("digest").unwrap_or_default())?;
                    Ok(Outcome::Pass)
                }
                (false, Err(_)) => Ok(Outcome::Pass),
                (true, Err(e)) => Err(format!("refused: {e}")),
                (false, Ok(_)) => Err("accepted a tampered manifest".to_owned()),
            }
        }
        ("flask_session_cookie", "sign") => flask(v),
        _ => Err(format!("no runner for {primitive}/{op}")),
    }
}

fn checksums(v: &Vector<'_>) -> Result<Outcome, String> {
    let layer = b64::std_decode(v.s("layer_tar_b64")).ok_or("bad base64")?;
    let json = v.s("json_data");
    let t = tarsum::tarsum(json, &layer).map_err(|e| e.to_string())?;
    check_eq("tarsum", &t, v.exp_s("tarsum").unwrap_or_default())?;
    let s = tarsum::simple_checksum(json, &layer).map_err(|e| e.to_string())?;
    check_eq("simple", &s, v.exp_s("simple").unwrap_or_default())?;
    if let Some(want) = v.exp_s("simple_handler") {
        check_eq("simple handler", &s, want)?;
    }
    Ok(Outcome::Pass)
}

fn pptoken(v: &Vector<'_>) -> Result<Outcome, String> {
    let encoded = smtp::encode_public_private_token(v.s("public_code"), v.s("private_token"));
    check_eq("encoded", &encoded, v.exp_s("encoded").unwrap_or_default())?;
    let decoded = smtp::decode_public_private_token(&encoded);
    let want = match v.expected.get("decoded") {
        Some(JsonValue::Array(parts)) => match parts.as_slice() {
            [a, b] => Some((
                a.as_str().unwrap_or_default().to_owned(),
                b.as_str().unwrap_or_default().to_owned(),
            )),
            _ => return Err("bad expected.decoded".to_owned()),
        },
        _ => None,
    };
    if decoded == want {
        Ok(Outcome::Pass)
    } else {
        Err(format!("decoded: got {decoded:?}, want {want:?}"))
    }
}

fn cram(v: &Vector<'_>) -> Result<Outcome, String> {
    let result = smtp::cram_md5_response(v.s("user"), v.s("password"), v.s("challenge_b64"));
    if v.fips {
        return match result {
            Err(CryptoError::FipsForbidden {
                feature,
                config_key,
                ..
            }) if feature.contains("CRAM-MD5") && config_key.contains("MAIL") => {
                Ok(Outcome::ForbiddenUnderFips)
            }
            Err(e) => Err(format!(
                "under FIPS, expected FipsForbidden naming CRAM-MD5, got {e}"
            )),
            Ok(_) => Err("under FIPS, HMAC-MD5 must be refused".to_owned()),
        };
    }
    let (response, encoded) = result.map_err(|e| e.to_string())?;
    check_eq(
        "response",
        &response,
        v.exp_s("response").unwrap_or_default(),
    )?;
    check_eq(
        "response b64",
        &encoded,
        v.exp_s("response_b64").unwrap_or_default(),
    )?;
    Ok(Outcome::Pass)
}

fn schema1_sign(v: &Vector<'_>) -> Result<Outcome, String> {
    let key = jwk::private_key_from_pem(v.key_pem("private_key")).map_err(|e| e.to_string())?;
    let Some(JsonValue::Array(raw_layers)) = v.input.get("layers") else {
        return Err("layers missing".to_owned());
    };
    let layers: Vec<schema1::Layer<'_>> = raw_layers
        .iter()
        .map(|l| schema1::Layer {
            digest: l
                .get("digest")
                .and_then(JsonValue::as_str)
                .unwrap_or_default(),
            v1_json: l
                .get("v1_json")
                .and_then(JsonValue::as_str)
                .unwrap_or_default(),
        })
        .collect();
    let signed = schema1::sign(
        v.s("namespace"),
        v.s("repo"),
        v.s("tag"),
        &layers,
        &key,
        v.i("now"),
    )
    .map_err(|e| e.to_string())?;
    check_eq(
        "kid",
        &signed.kid,
        v.exp_s("libtrust_kid").unwrap_or_default(),
    )?;
    check_eq(
        "protected",
        &signed.protected,
        v.exp_s("protected").unwrap_or_default(),
    )?;
    check_eq(
        "signature",
        &signed.signature,
        v.exp_s("signature").unwrap_or_default(),
    )?;
    check_eq(
        "manifest",
        &signed.manifest,
        v.exp_s("manifest").unwrap_or_default(),
    )?;
    check_eq(
        "digest",
        &signed.digest,
        v.exp_s("digest").unwrap_or_default(),
    )?;
    let verified = schema1::verify(&signed.manifest).map_err(|e| e.to_string())?;
    check_eq("verified digest", &verified, &signed.digest)?;
    Ok(Outcome::Pass)
}

/// Input datetimes are written `"YYYY-MM-DDTHH:MM:SS (datetime)"`; decoded ones `"…+00:00"`.
fn parse_datetime(s: &str) -> Option<i64> {
    let core = s
        .strip_suffix(" (datetime)")
        .or_else(|| s.strip_suffix("+00:00"))?;
    let n = |r: std::ops::Range<usize>| core.get(r).and_then(|t| t.parse::<u32>().ok());
    Some(quay_fips::civil::to_unix(
        i64::from(n(0..4)?),
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    ))
}

fn tag_datetimes(v: &JsonValue) -> JsonValue {
    match v {
        JsonValue::Object(pairs) => JsonValue::Object(
            pairs
                .iter()
                .map(|(k, val)| (k.clone(), tag_datetimes(val)))
                .collect(),
        ),
        JsonValue::Str(s) => {
            parse_datetime(s).map_or_else(|| v.clone(), quay_fips::itsdangerous::tagged_datetime)
        }
        other => other.clone(),
    }
}

fn flask(v: &Vector<'_>) -> Result<Outcome, String> {
    let session = tag_datetimes(v.input.get("session").ok_or("session missing")?);
    let cookie = quay_fips::itsdangerous::sign_session(v.s("secret_key"), &session, v.i("now"))
        .map_err(|e| e.to_string())?;
    check_eq("cookie", &cookie, v.exp_s("cookie").unwrap_or_default())?;
    let decoded = quay_fips::itsdangerous::verify_session(
        v.s("secret_key"),
        &cookie,
        v.i("now") + 10,
        2_678_400,
    )
    .map_err(|e| e.to_string())?;
    let want = tag_datetimes(v.expected.get("decoded").ok_or("decoded missing")?);
    if !super::json_eq(&decoded, &want) {
        return Err(format!("decoded differs: {decoded:?}"));
    }
    let tampered = format!("{}x", cookie);
    if quay_fips::itsdangerous::verify_session(v.s("secret_key"), &tampered, v.i("now"), 2_678_400)
        .is_ok()
    {
        return Err("accepted a tampered cookie".to_owned());
    }
    Ok(Outcome::Pass)
}
