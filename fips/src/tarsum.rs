//! Docker v1 layer checksums (`digest/checksums.py`): the "simple" checksum and `tarsum+sha256`.
//!
//! The tar reader follows Python's `tarfile` closely enough for tarsum: ustar prefixes, GNU long
//! names (`L`/`K`), PAX `x` headers, directory names normalised to one trailing `/`. Compressed
//! layers are not decompressed here (callers hand in the raw tar stream).

mod tar;

use openssl::hash::{Hasher, MessageDigest, hash};

use crate::error::CryptoError;

/// `sha256:<hex>` of `json_data + "\n" + layer`.
///
/// # Errors
/// OpenSSL failure.
pub fn simple_checksum(json_data: &str, layer: &[u8]) -> Result<String, CryptoError> {
    let mut h = Hasher::new(MessageDigest::sha256())?;
    h.update(json_data.as_bytes())?;
    h.update(b"\n")?;
    h.update(layer)?;
    Ok(format!("sha256:{}", hex::encode(h.finish()?)))
}

/// `tarsum+sha256:<hex>` of a layer: per member SHA-256 of the header string plus content, the
/// hex strings sorted, then SHA-256 of `json_data` followed by them. An empty layer is accepted.
///
/// # Errors
/// `InvalidInput` for a corrupt tar; OpenSSL failure.
pub fn tarsum(json_data: &str, layer: &[u8]) -> Result<String, CryptoError> {
    let mut hashes = Vec::new();
    for member in tar::members(layer)? {
        let mut header = String::new();
        let mut name = member.name.clone();
        if member.typeflag == b'5' && !name.ends_with('/') {
            name.push('/');
        }
        let fields: [(&str, String); 12] = [
            ("name", name),
            ("mode", member.mode.to_string()),
            ("uid", member.uid.to_string()),
            ("gid", member.gid.to_string()),
            ("size", member.size.to_string()),
            ("mtime", member.mtime.clone()),
            ("typeflag", tar::py_bytes_repr(member.typeflag)),
            ("linkname", member.linkname.clone()),
            ("uname", member.uname.clone()),
            ("gname", member.gname.clone()),
            ("devmajor", member.devmajor.to_string()),
            ("devminor", member.devminor.to_string()),
        ];
        for (field, value) in fields {
            header.push_str(field);
            header.push_str(&value);
        }
        let mut h = Hasher::new(MessageDigest::sha256())?;
        h.update(header.as_bytes())?;
        if member.size > 0 && member.is_regular() {
            h.update(member.content)?;
        }
        hashes.push(hex::encode(h.finish()?));
    }
    hashes.sort();
    let data = format!("{json_data}{}", hashes.concat());
    Ok(format!(
        "tarsum+sha256:{}",
        hex::encode(hash(MessageDigest::sha256(), data.as_bytes())?)
    ))
}
