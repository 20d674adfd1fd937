//! Service keys: RSA key generation through the provider, JWKs, RFC 7638 thumbprints, JWK to
//! public key (RSA and EC), the libtrust key id of Docker schema 1 and OpenSSH public keys.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Rsa;
use quay_ports::crypto::JsonValue;

use crate::b64;
use crate::error::CryptoError;
use crate::pyjson::{self, COMPACT};

/// Generates an RSA key through the EVP path (`PkeyCtx`), so the FIPS provider's rules apply
/// (the low-level `Rsa::generate` bypasses them). Quay uses 2048 bits; fewer than 2048 is refused.
///
/// # Errors
/// `InvalidKey` below 2048 bits; OpenSSL failure.
pub fn generate_rsa(bits: u32) -> Result<PKey<Private>, CryptoError> {
    if bits < 2048 {
        return Err(CryptoError::InvalidKey(
            "RSA keys must have at least 2048 bits",
        ));
    }
    let mut ctx = PkeyCtx::new_id(Id::RSA)?;
    ctx.keygen_init()?;
    ctx.set_rsa_keygen_bits(bits)?;
    Ok(ctx.keygen()?)
}

/// Big-endian bytes of a big number, base64url without padding (JWK encoding).
fn bn_b64(n: &openssl::bn::BigNumRef) -> String {
    b64::url_nopad_encode(&n.to_vec())
}

/// The public JWK members `(e, n)` of an RSA key.
///
/// # Errors
/// `InvalidKey` for a non-RSA key.
pub fn rsa_public_members<T: HasPublic>(key: &PKeyRef<T>) -> Result<(String, String), CryptoError> {
    let rsa = key
        .rsa()
        .map_err(|_| CryptoError::InvalidKey("not an RSA key"))?;
    Ok((bn_b64(rsa.e()), bn_b64(rsa.n())))
}

/// RFC 7638 thumbprint: base64url-no-pad SHA-256 of `{"e":…,"kty":"RSA","n":…}`. Quay's `kid`.
///
/// # Errors
/// `InvalidKey` for a non-RSA key; OpenSSL failure.
pub fn rsa_thumbprint<T: HasPublic>(key: &PKeyRef<T>) -> Result<String, CryptoError> {
    let (e, n) = rsa_public_members(key)?;
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    Ok(b64::url_nopad_encode(&hash(
        MessageDigest::sha256(),
        canonical.as_bytes(),
    )?))
}

/// The stored public JWK of a service key: `{"n","e","kty","kid"}` in Authlib's order.
///
/// # Errors
/// As [`rsa_thumbprint`].
pub fn public_jwk<T: HasPublic>(key: &PKeyRef<T>) -> Result<JsonValue, CryptoError> {
    let (e, n) = rsa_public_members(key)?;
    let kid = rsa_thumbprint(key)?;
    Ok(JsonValue::object([
        ("n", JsonValue::str(n)),
        ("e", JsonValue::str(e)),
        ("kty", JsonValue::str("RSA")),
        ("kid", JsonValue::str(kid)),
    ]))
}

fn member(jwk: &JsonValue, name: &'static str) -> Result<Vec<u8>, CryptoError> {
    let text = jwk
        .get(name)
        .and_then(JsonValue::as_str)
        .ok_or(CryptoError::InvalidKey("JWK member missing"))?;
    b64::url_nopad_decode(text).ok_or(CryptoError::InvalidKey("JWK member is not base64url"))
}

/// Quay's `jwk_dict_to_public_key`: an RSA (`n`, `e`) or EC (`crv`, `x`, `y`; P-256, P-384,
/// P-521) JWK to a public key.
///
/// # Errors
/// `InvalidKey` for an unsupported or inconsistent JWK.
pub fn jwk_to_public_key(jwk: &JsonValue) -> Result<PKey<Public>, CryptoError> {
    match jwk.get("kty").and_then(JsonValue::as_str) {
        Some("RSA") => {
            let n = BigNum::from_slice(&member(jwk, "n")?)?;
            let e = BigNum::from_slice(&member(jwk, "e")?)?;
            let rsa = Rsa::from_public_components(n, e)?;
            Ok(PKey::from_rsa(rsa)?)
        }
        Some("EC") => {
            let nid = match jwk.get("crv").and_then(JsonValue::as_str) {
                Some("P-256") => Nid::X9_62_PRIME256V1,
                Some("P-384") => Nid::SECP384R1,
                Some("P-521") => Nid::SECP521R1,
                _ => return Err(CryptoError::InvalidKey("unsupported EC curve")),
            };
            let group = EcGroup::from_curve_name(nid)?;
            let x = BigNum::from_slice(&member(jwk, "x")?)?;
            let y = BigNum::from_slice(&member(jwk, "y")?)?;
            let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
                .map_err(|_| CryptoError::InvalidKey("EC point is not on the curve"))?;
            key.check_key()
                .map_err(|_| CryptoError::InvalidKey("EC key check failed"))?;
            Ok(PKey::from_ec_key(key)?)
        }
        _ => Err(CryptoError::InvalidKey("unsupported JWK kty")),
    }
}

/// Loads a private key PEM (PKCS#1 or PKCS#8).
///
/// # Errors
/// `InvalidKey` when the PEM does not parse.
pub fn private_key_from_pem(pem: &str) -> Result<PKey<Private>, CryptoError> {
    PKey::private_key_from_pem(pem.as_bytes())
        .map_err(|_| CryptoError::InvalidKey("bad private key PEM"))
}

/// The public half of a private key.
///
/// # Errors
/// OpenSSL failure.
pub fn public_of(key: &PKeyRef<Private>) -> Result<PKey<Public>, CryptoError> {
    Ok(PKey::public_key_from_der(&key.public_key_to_der()?)?)
}

/// The libtrust key id: SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 (no
/// padding), in 12 groups of 4 joined with `:`.
///
/// # Errors
/// OpenSSL failure.
pub fn libtrust_kid<T: HasPublic>(key: &PKeyRef<T>) -> Result<String, CryptoError> {
    let digest = hash(MessageDigest::sha256(), &key.public_key_to_der()?)?;
    let encoded = base32(&digest[..30]);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    Ok(groups.join(":"))
}

/// RFC 4648 base32 without padding (input length a multiple of 5 here).
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for byte in data {
        buffer = (buffer << 8) | u64::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// OpenSSH `ssh-rsa` public key line (build-trigger deploy keys): the wire format is written
/// with explicit big-endian lengths.
///
/// # Errors
/// `InvalidKey` for a non-RSA key.
pub fn openssh_public_key<T: HasPublic>(key: &PKeyRef<T>) -> Result<String, CryptoError> {
    let rsa = key
        .rsa()
        .map_err(|_| CryptoError::InvalidKey("not an RSA key"))?;
    let mut blob = Vec::new();
    let mut put = |bytes: &[u8]| {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        blob.extend_from_slice(&len.to_be_bytes());
        blob.extend_from_slice(bytes);
    };
    let mpint = |n: &openssl::bn::BigNumRef| {
        let mut v = n.to_vec();
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        v
    };
    put(b"ssh-rsa");
    put(&mpint(rsa.e()));
    put(&mpint(rsa.n()));
    Ok(format!("ssh-rsa {}", b64::std_encode(&blob)))
}

/// `json.dumps` of a JWK, compact.
pub fn jwk_json(jwk: &JsonValue) -> String {
    pyjson::dumps(jwk, COMPACT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(super::base32(b"foobar"), "MZXW6YTBOI");
    }
}
