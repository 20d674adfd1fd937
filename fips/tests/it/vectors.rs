//! Runs every crypto vector against this crate and reports failures by vector id.
//!
//! Sources: `tests/fixtures/vectors_public.json` and every `*.json` file of the same format in the
//! directory named by `QUAY_CRYPTO_VECTORS_DIR` (when set). A vector is skipped only for a reason
//! written in [`skip_reason`]; skips are counted and printed. Under an enforced FIPS provider,
//! vectors needing a forbidden algorithm must fail with `CryptoError::FipsForbidden`.

mod misc;
mod symmetric;
mod tokens;
mod urls;

use std::path::{Path, PathBuf};

use quay_fips::pyjson;
use quay_ports::crypto::JsonValue;

/// What one vector did.
pub enum Outcome {
    /// Matched Python.
    Pass,
    /// Did not match; the message says how.
    Fail(String),
    /// Refused under FIPS with the clear error, as required.
    ForbiddenUnderFips,
}

/// A vector and the key table of its file.
pub struct Vector<'a> {
    pub id: &'a str,
    pub input: &'a JsonValue,
    pub expected: &'a JsonValue,
    pub keys: &'a JsonValue,
    pub fips: bool,
}

impl Vector<'_> {
    pub fn s(&self, name: &str) -> &str {
        self.input
            .get(name)
            .and_then(JsonValue::as_str)
            .unwrap_or_else(|| panic!("{}: input.{name} missing", self.id))
    }

    pub fn i(&self, name: &str) -> i64 {
        self.input
            .get(name)
            .and_then(JsonValue::as_i64)
            .unwrap_or_else(|| panic!("{}: input.{name} missing", self.id))
    }

    pub fn b(&self, name: &str) -> bool {
        matches!(self.input.get(name), Some(JsonValue::Bool(true)))
    }

    pub fn exp_s(&self, name: &str) -> Option<&str> {
        self.expected.get(name).and_then(JsonValue::as_str)
    }

    pub fn expects_error(&self) -> bool {
        self.expected.get("error").is_some()
            || matches!(self.expected.get("valid"), Some(JsonValue::Bool(false)))
    }

    /// The PEM of a key named in `input.<field>`.
    pub fn key_pem(&self, field: &str) -> &str {
        let name = self.s(field);
        self.keys
            .get(name)
            .and_then(|k| k.get("private_pem"))
            .and_then(JsonValue::as_str)
            .unwrap_or_else(|| panic!("{}: key {name} missing", self.id))
    }

    pub fn key_kid(&self, name: &str) -> Option<&str> {
        self.keys
            .get(name)
            .and_then(|k| k.get("kid"))
            .and_then(JsonValue::as_str)
    }
}

/// Compares strings, describing the first difference.
pub fn check_eq(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .bytes()
        .zip(want.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    Err(format!(
        "{what} differs at byte {at}: got …{}… want …{}…",
        got.get(at.saturating_sub(10)..(at + 30).min(got.len()))
            .unwrap_or(got),
        want.get(at.saturating_sub(10)..(at + 30).min(want.len()))
            .unwrap_or(want)
    ))
}

/// JSON equality ignoring object key order.
pub fn json_eq(a: &JsonValue, b: &JsonValue) -> bool {
    match (a, b) {
        (JsonValue::Object(x), JsonValue::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (JsonValue::Array(x), JsonValue::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w))
        }
        (JsonValue::Int(x), JsonValue::Float(y)) | (JsonValue::Float(y), JsonValue::Int(x)) => {
            (*x as f64) == *y
        }
        _ => a == b,
    }
}

/// Why a vector is not run. Every skip reason is written here.
fn skip_reason(v: &JsonValue) -> Option<&'static str> {
    let flags = match v.get("flags") {
        Some(JsonValue::Array(f)) => f.clone(),
        _ => Vec::new(),
    };
    if flags.iter().any(|f| f.as_str() == Some("python_lenient")) {
        return Some(
            "python_lenient: Python's base64 decoder drops stray characters; quay-fips decodes \
             strictly on purpose (Quay never writes such values)",
        );
    }
    None
}

fn dispatch(v: &Vector<'_>, primitive: &str, op: &str) -> Outcome {
    let result = match primitive {
        "field_encryption_v0" | "encrypted_basic_auth_aes_cbc" | "fernet_page_token" | "bcrypt" => {
            symmetric::run(v, primitive, op)
        }
        "registry_jwt_rs256" | "storage_proxy_jwt" | "oidc_jwt_verify" | "secscan_jwt_hs256"
        | "service_key_jwk" => tokens::run(v, primitive, op),
        "cloudfront_signed_url"
        | "cloudflare_signed_url"
        | "akamai_edgeauth_url"
        | "swift_tempurl" => urls::run(v, primitive, op),
        _ => misc::run(v, primitive, op),
    };
    match result {
        Ok(outcome) => outcome,
        Err(msg) => Outcome::Fail(msg),
    }
}

struct Tally {
    passed: usize,
    forbidden: usize,
    skipped: Vec<(String, &'static str)>,
    failed: Vec<(String, String)>,
}

fn run_file(path: &Path, fips: bool, tally: &mut Tally) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc = pyjson::parse(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    assert_eq!(
        doc.get("format").and_then(JsonValue::as_str),
        Some("quay-crypto-vectors/1"),
        "{}: unknown format",
        path.display()
    );
    let empty = JsonValue::Object(Vec::new());
    let keys = doc.get("keys").unwrap_or(&empty);
    let Some(JsonValue::Array(vectors)) = doc.get("vectors") else {
        panic!("{}: no vectors", path.display());
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    for raw in vectors {
        let id = raw
            .get("id")
            .and_then(JsonValue::as_str)
            .unwrap_or("<no id>");
        let label = format!("{file}:{id}");
        if let Some(reason) = skip_reason(raw) {
            tally.skipped.push((label, reason));
            continue;
        }
        let primitive = raw
            .get("primitive")
            .and_then(JsonValue::as_str)
            .unwrap_or("");
        let op = raw.get("op").and_then(JsonValue::as_str).unwrap_or("");
        let v = Vector {
            id,
            input: raw.get("input").unwrap_or(&empty),
            expected: raw.get("expected").unwrap_or(&empty),
            keys,
            fips,
        };
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(&v, primitive, op)))
                .unwrap_or_else(|_| Outcome::Fail("panicked".to_owned()));
        match outcome {
            Outcome::Pass => tally.passed += 1,
            Outcome::ForbiddenUnderFips => tally.forbidden += 1,
            Outcome::Fail(msg) => tally
                .failed
                .push((label, format!("[{primitive}/{op}] {msg}"))),
        }
    }
}

fn vector_files() -> Vec<PathBuf> {
    let mut files =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors_public.json")];
    if let Ok(dir) = std::env::var("QUAY_CRYPTO_VECTORS_DIR") {
        let mut extra: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("QUAY_CRYPTO_VECTORS_DIR={dir}: {e}"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        extra.sort();
        files.extend(extra);
    }
    files
}

#[test]
fn all_crypto_vectors() {
    let fips = quay_fips::provider::fips_enforced();
    let mut tally = Tally {
        passed: 0,
        forbidden: 0,
        skipped: Vec::new(),
        failed: Vec::new(),
    };
    for file in vector_files() {
        run_file(&file, fips, &mut tally);
    }
    println!(
        "crypto vectors ({} provider): {} passed, {} refused under FIPS as required, {} skipped, {} failed",
        if fips { "FIPS" } else { "default" },
        tally.passed,
        tally.forbidden,
        tally.skipped.len(),
        tally.failed.len()
    );
    for (id, reason) in &tally.skipped {
        println!("  skipped {id}: {reason}");
    }
    for (id, msg) in &tally.failed {
        println!("  FAILED {id}: {msg}");
    }
    assert!(
        tally.failed.is_empty(),
        "{} crypto vectors failed (see the list above)",
        tally.failed.len()
    );
}
