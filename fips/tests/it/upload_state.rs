//! Python `resumablesha256` states (fixtures made with the real library): read, continue, write
//! back byte for byte, in both byte orders.

use quay_fips::pyjson;
use quay_fips::upload_state::{ByteOrder, ResumableSha256, from_pickle, to_pickle};
use quay_ports::crypto::JsonValue;

fn cases() -> Vec<JsonValue> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/resumable_sha256.json"
    );
    let doc = pyjson::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    match doc.get("cases") {
        Some(JsonValue::Array(c)) => c.clone(),
        _ => panic!("no cases"),
    }
}

fn field<'a>(case: &'a JsonValue, name: &str) -> &'a str {
    case.get(name).and_then(JsonValue::as_str).unwrap()
}

#[test]
fn python_states_round_trip_and_resume() {
    for case in cases() {
        let id = field(&case, "id");
        let data = quay_fips::b64::std_decode(field(&case, "data_b64")).unwrap();
        let more = quay_fips::b64::std_decode(field(&case, "more_b64")).unwrap();
        let pickle = quay_fips::b64::std_decode(field(&case, "sha_state_b64")).unwrap();

        // Rust writes exactly Python's bytes (fixtures are little-endian, from x86_64).
        let mut ours = ResumableSha256::new();
        ours.update(&data);
        let raw = ours.to_c_struct(ByteOrder::Little);
        assert_eq!(
            hex::encode(raw),
            field(&case, "state_hex"),
            "{id}: C struct"
        );
        assert_eq!(to_pickle(&raw), pickle, "{id}: pickle");
        assert_eq!(
            format!("sha256:{}", hex::encode(ours.finish())),
            field(&case, "digest_after_data"),
            "{id}"
        );

        // Rust resumes Python's state.
        let raw = from_pickle(&pickle).unwrap();
        let mut resumed = ResumableSha256::from_c_struct(&raw, ByteOrder::Little).unwrap();
        resumed.update(&more);
        assert_eq!(
            format!("sha256:{}", hex::encode(resumed.finish())),
            field(&case, "digest_after_more"),
            "{id}"
        );

        // Big-endian (s390x) layout: same state, words byte-swapped; reading it as little-endian
        // is refused whenever a count is non-zero.
        let be = ours.to_c_struct(ByteOrder::Big);
        let back = ResumableSha256::from_c_struct(&be, ByteOrder::Big).unwrap();
        assert_eq!(
            back.to_c_struct(ByteOrder::Little),
            ours.to_c_struct(ByteOrder::Little),
            "{id}: BE round trip"
        );
    }
}

#[test]
fn pinned_big_endian_bytes() {
    let fresh = ResumableSha256::new();
    let be = fresh.to_c_struct(ByteOrder::Big);
    let le = fresh.to_c_struct(ByteOrder::Little);
    assert_eq!(&be[80..84], &[0x6a, 0x09, 0xe6, 0x67]);
    assert_eq!(&le[80..84], &[0x67, 0xe6, 0x09, 0x6a]);
    let mut h = ResumableSha256::new();
    h.update(&[0u8; 70]);
    let be = h.to_c_struct(ByteOrder::Big);
    assert_eq!(&be[64..68], &[0, 0, 0, 6]);
    assert_eq!(&be[72..80], &[0, 0, 0, 0, 0, 0, 2, 0]);
    assert!(ResumableSha256::from_c_struct(&be, ByteOrder::Little).is_err());
}

#[test]
fn malformed_pickles_are_refused() {
    assert!(from_pickle(b"").is_err());
    assert!(from_pickle(b"\x80\x04\x95").is_err());
    let mut good = to_pickle(&ResumableSha256::new().to_c_struct(ByteOrder::Little));
    good[20] ^= 1;
    assert!(from_pickle(&good).is_err());
    assert!(from_pickle(b"cos\nsystem\n(S'echo hi'\ntR.").is_err());
}

/// The hasher fed in pieces of every awkward size exports the same 112 bytes, at every split,
/// as when fed one byte at a time (B-Con's loop, stale buffer bytes included), and hashes as
/// OpenSSL does.
#[test]
fn piecewise_feeding_matches_the_byte_loop_and_openssl() {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    for piece in [1, 3, 63, 64, 65, 127, 128, 129, 1000, 4096, 8195] {
        let mut bulk = ResumableSha256::new();
        let mut bytewise = ResumableSha256::new();
        for part in data.chunks(piece) {
            bulk.update(part);
            for b in part {
                bytewise.update(std::slice::from_ref(b));
            }
            for order in [ByteOrder::Little, ByteOrder::Big] {
                assert_eq!(
                    bulk.to_c_struct(order),
                    bytewise.to_c_struct(order),
                    "pieces of {piece}"
                );
            }
        }
        let digest = format!("sha256:{}", hex_of(&bulk.finish()));
        assert_eq!(
            digest,
            quay_fips::digest::sha256_digest(&data).unwrap(),
            "pieces of {piece}"
        );
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
