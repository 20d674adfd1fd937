//! Field encryption v0, AES-CBC encrypted passwords, Fernet page tokens, bcrypt.

use quay_fips::aes_cbc::EncryptedPasswords;
use quay_fips::fernet::Fernet;
use quay_fips::field::{FieldEncrypterV0, NONCE_LEN};
use quay_fips::password::{BcryptHasher, hash_with_salt_str};
use quay_fips::secret_key::{KeyBranch, convert_secret_key};
use quay_ports::crypto::{FieldCipher as _, JsonValue, PasswordHasher as _};
use secrecy::{ExposeSecret as _, SecretString};

use super::{Outcome, Vector, check_eq};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn unhex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let v = hex::decode(s).map_err(|e| format!("bad hex: {e}"))?;
    v.try_into().map_err(|_| "wrong hex length".to_owned())
}

pub fn run(v: &Vector<'_>, primitive: &str, op: &str) -> Result<Outcome, String> {
    match (primitive, op) {
        ("field_encryption_v0", "derive_key") => derive(v),
        ("field_encryption_v0", "encrypt") => field_encrypt(v),
        ("field_encryption_v0", "decrypt") => field_decrypt(v),
        ("encrypted_basic_auth_aes_cbc", "encrypt") => cbc_encrypt(v),
        ("encrypted_basic_auth_aes_cbc", "decrypt") => cbc_decrypt(v),
        ("fernet_page_token", "encrypt") => fernet_encrypt(v),
        ("fernet_page_token", "decrypt") => fernet_decrypt(v),
        ("bcrypt", "hash") => bcrypt_hash(v),
        ("bcrypt", "verify") => bcrypt_verify(v),
        _ => Err(format!("no runner for {primitive}/{op}")),
    }
}

fn derive(v: &Vector<'_>) -> Result<Outcome, String> {
    let result = convert_secret_key(v.s("secret_key"));
    if v.expects_error() {
        return match result {
            Err(_) => Ok(Outcome::Pass),
            Ok((k, _)) => Err(format!("expected an error, got key {}", hex::encode(k))),
        };
    }
    let (key, branch) = result.map_err(|e| e.to_string())?;
    check_eq(
        "key",
        &hex::encode(key),
        v.exp_s("key_hex").unwrap_or_default(),
    )?;
    let branch = match branch {
        KeyBranch::Int => "int",
        KeyBranch::Uuid => "uuid",
        KeyBranch::Latin1 => "latin1",
    };
    if let Some(want) = v.exp_s("branch") {
        check_eq("branch", branch, want)?;
    }
    Ok(Outcome::Pass)
}

fn field_encrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let enc = FieldEncrypterV0::new(&secret(v.s("secret_key"))).map_err(|e| e.to_string())?;
    let max = v
        .input
        .get("field_max_length")
        .and_then(JsonValue::as_i64)
        .map(|m| m as usize);
    let nonce: [u8; NONCE_LEN] = match v.input.get("nonce_hex").and_then(JsonValue::as_str) {
        Some(h) => unhex(h)?,
        None => [0u8; NONCE_LEN],
    };
    let result = enc.encrypt_with_nonce(v.s("plaintext").as_bytes(), &nonce, max);
    if v.expects_error() {
        return match result {
            Err(_) => Ok(Outcome::Pass),
            Ok(c) => Err(format!("expected an error, got {c}")),
        };
    }
    let got = result.map_err(|e| e.to_string())?;
    check_eq(
        "ciphertext",
        &got,
        v.exp_s("ciphertext").unwrap_or_default(),
    )?;
    // and back
    let back = enc.decrypt(&got).map_err(|e| e.to_string())?;
    check_eq("round trip", back.expose_secret(), v.s("plaintext"))?;
    Ok(Outcome::Pass)
}

fn field_decrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let enc = FieldEncrypterV0::new(&secret(v.s("secret_key"))).map_err(|e| e.to_string())?;
    let result = enc.decrypt(v.s("ciphertext"));
    if v.expects_error() {
        return match result {
            Err(_) => Ok(Outcome::Pass),
            Ok(p) => Err(format!(
                "expected DecryptionFailure, got {:?}",
                p.expose_secret()
            )),
        };
    }
    let got = result.map_err(|e| e.to_string())?;
    check_eq(
        "plaintext",
        got.expose_secret(),
        v.exp_s("plaintext").unwrap_or_default(),
    )?;
    Ok(Outcome::Pass)
}

fn cbc_encrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let p = EncryptedPasswords::new(&secret(v.s("secret_key"))).map_err(|e| e.to_string())?;
    if let Some(want) = v.exp_s("derived_key_hex") {
        check_eq("derived key", &hex::encode(p.derived_key()), want)?;
    }
    if let Some(want) = v.exp_s("plaintext_json") {
        check_eq(
            "plaintext json",
            &EncryptedPasswords::plaintext_json(v.s("password")),
            want,
        )?;
    }
    let iv: [u8; 16] = unhex(v.s("iv_hex"))?;
    let got = p
        .encrypt_with_iv(v.s("password"), &iv)
        .map_err(|e| e.to_string())?;
    check_eq("encrypted", &got, v.exp_s("encrypted").unwrap_or_default())?;
    if p.decrypt(&got).as_deref() != Some(v.s("password")) {
        return Err("round trip failed".to_owned());
    }
    Ok(Outcome::Pass)
}

fn cbc_decrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let p = EncryptedPasswords::new(&secret(v.s("secret_key"))).map_err(|e| e.to_string())?;
    let got = p.decrypt(v.s("encrypted"));
    let want = v.exp_s("password");
    if got.as_deref() == want {
        Ok(Outcome::Pass)
    } else {
        Err(format!("password: got {got:?}, want {want:?}"))
    }
}

fn fernet_encrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let f = Fernet::new(v.s("key")).map_err(|e| e.to_string())?;
    let iv: [u8; 16] = unhex(v.s("iv_hex"))?;
    let got = f
        .encrypt_at(v.s("plaintext").as_bytes(), v.i("now"), &iv)
        .map_err(|e| e.to_string())?;
    check_eq("token", &got, v.exp_s("token").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn fernet_decrypt(v: &Vector<'_>) -> Result<Outcome, String> {
    let f = Fernet::new(v.s("key")).map_err(|e| e.to_string())?;
    let got = f.decrypt(v.s("token"), v.i("now"), v.i("ttl")).ok();
    let got = got.map(|b| String::from_utf8_lossy(&b).into_owned());
    let want = v.exp_s("plaintext");
    if got.as_deref() == want {
        Ok(Outcome::Pass)
    } else {
        Err(format!("plaintext: got {got:?}, want {want:?}"))
    }
}

fn bcrypt_hash(v: &Vector<'_>) -> Result<Outcome, String> {
    let result = hash_with_salt_str(v.s("password").as_bytes(), v.s("salt"));
    if v.expects_error() {
        return match result {
            Err(_) => Ok(Outcome::Pass),
            Ok(h) => Err(format!("expected an error, got {h}")),
        };
    }
    let got = result.map_err(|e| e.to_string())?;
    check_eq("hash", &got, v.exp_s("hash").unwrap_or_default())?;
    Ok(Outcome::Pass)
}

fn bcrypt_verify(v: &Vector<'_>) -> Result<Outcome, String> {
    let hasher = BcryptHasher::default();
    let result = hasher.verify(&secret(v.s("password")), v.s("hash"));
    if v.expects_error() {
        return match result {
            Err(_) => Ok(Outcome::Pass),
            Ok(m) => Err(format!("expected an error, got matches={m}")),
        };
    }
    let got = result.map_err(|e| e.to_string())?;
    let want = matches!(v.expected.get("matches"), Some(JsonValue::Bool(true)));
    if got != want {
        return Err(format!("matches: got {got}, want {want}"));
    }
    if let Some(cost) = v.expected.get("cost").and_then(JsonValue::as_i64) {
        check_eq("cost", &v.s("hash")[4..6], &format!("{cost:02}"))?;
    }
    Ok(Outcome::Pass)
}
