//! `/v2/auth` and `/v2/` against the exchanges captured from Python Quay
//! (`tests/fixtures/contract/registry/v2_{auth,base}_*.json`): same status, same headers (minus
//! `Server`, `Date`, `Connection`), same body; tokens decoded and compared claim by claim.

use actix_web::{App, test};
use serde_json::{Value, json};

use super::testing::{HOST, TestKey, TestRegistry};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/contract/registry"
);

fn capture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{CAPTURES}/{name}.json")).expect("capture");
    serde_json::from_str(&text).expect("capture JSON")
}

fn basic(user: &str, password: &str) -> String {
    let encoded = quay_fips::b64::std_encode(format!("{user}:{password}").as_bytes());
    format!("Basic {encoded}")
}

fn b64_json(segment: &str) -> Value {
    let bytes = quay_fips::b64::url_nopad_decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Ours, for a capture's `auth` description.
fn authorization(auth: &str, bearer: Option<&str>) -> Option<String> {
    match auth {
        "none" => None,
        "basic admin" => Some(basic("admin", "password")),
        "basic user1" | "basic user1 (correct pw)" => Some(basic("user1", "password")),
        "basic user1 wrong pw" => Some(basic("user1", "wrong")),
        "basic nosuchuser" => Some(basic("nosuchuser", "password")),
        "basic testorg+bot" => Some(basic("testorg+bot", "ROBOTTOKEN")),
        // Its header segment decodes to b"g\xb7", the bytes Quay's capture complains about.
        "bearer garbage" => Some("Bearer Z7c.garbage.garbage".into()),
        "bearer jwt(admin,no scope)" => Some(format!("Bearer {}", bearer.expect("a token"))),
        other => panic!("no credentials for {other}"),
    }
}

struct Exchange {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn send(registry: &TestRegistry, path: &str, authorization: Option<String>) -> Exchange {
    let app = test::init_service(App::new().configure(crate::configure(registry.services()))).await;
    let mut req = test::TestRequest::get()
        .uri(path)
        .insert_header(("Host", HOST));
    if let Some(a) = authorization {
        req = req.insert_header(("Authorization", a));
    }
    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = test::read_body(resp).await.to_vec();
    Exchange {
        status,
        headers,
        body,
    }
}

async fn admin_token(registry: &TestRegistry) -> String {
    let ex = send(
        registry,
        "/v2/auth?service=127.0.0.1:8180",
        Some(basic("admin", "password")),
    )
    .await;
    let body: Value = serde_json::from_slice(&ex.body).expect("JSON");
    body["token"].as_str().expect("token").to_owned()
}

/// Checks one exchange against its capture.
fn check(name: &str, ex: &Exchange) {
    let cap = capture(name);
    let resp = &cap["response"];
    assert_eq!(
        u64::from(ex.status),
        resp["status"].as_u64().expect("status"),
        "{name}: status"
    );
    let expected: Vec<(String, String)> = resp["headers"]
        .as_object()
        .expect("headers")
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Server" | "Date" | "Connection"))
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut ours: Vec<(String, String)> = ex
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .cloned()
        .collect();
    ours.push(("content-length".into(), ex.body.len().to_string()));
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    ours.sort();
    assert_eq!(ours, expected_sorted, "{name}: headers");
    let body_text = String::from_utf8(ex.body.clone()).expect("UTF-8 body");
    if let Some(text) = resp["body_text"].as_str() {
        assert_eq!(body_text, text, "{name}: body");
        return;
    }
    let body: Value = serde_json::from_str(&body_text).expect("JSON body");
    let expected_body = &resp["body_json"];
    if let Some(decoded) = expected_body.get("token__decoded") {
        let token = body["token"].as_str().expect("token");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{name}: JWT");
        let header = b64_json(parts[0]);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(
            header["kid"].as_str().map(str::len),
            decoded["header"]["kid"].as_str().map(str::len)
        );
        let mut claims = b64_json(parts[1]);
        let mut want = decoded["claims"].clone();
        let iat = claims["iat"].as_i64().expect("iat");
        assert_eq!(claims["nbf"].as_i64(), Some(iat), "{name}: nbf");
        assert_eq!(claims["exp"].as_i64(), Some(iat + 3600), "{name}: exp");
        for c in [&mut claims, &mut want] {
            for k in ["nbf", "iat", "exp"] {
                c.as_object_mut().expect("object").remove(k);
            }
        }
        assert_eq!(claims, want, "{name}: claims");
        // Key order of the payload, as Python writes it.
        let raw = String::from_utf8(quay_fips::b64::url_nopad_decode(parts[1]).expect("b64"))
            .expect("text");
        assert!(raw.starts_with(r#"{"iss":"quay","aud":"#), "{name}: {raw}");
    } else {
        assert_eq!(&body, expected_body, "{name}: body");
        assert!(
            body_text.ends_with('\n') || !body_text.starts_with("{\"errors\""),
            "{name}: jsonify newline"
        );
    }
}

async fn replay(name: &str) {
    let registry = TestRegistry::new(|_| {}).await;
    let cap = capture(name);
    let auth = cap["request"]["auth"].as_str().expect("auth");
    let bearer = if auth.starts_with("bearer jwt") {
        Some(admin_token(&registry).await)
    } else {
        None
    };
    let path = cap["request"]["path"].as_str().expect("path");
    let ex = send(&registry, path, authorization(auth, bearer.as_deref())).await;
    check(name, &ex);
}

#[actix_web::test]
async fn v2_auth_matches_captures() {
    for name in [
        "v2_auth_admin_catalog",
        "v2_auth_admin_multi_scope",
        "v2_auth_admin_newrepo_push",
        "v2_auth_admin_noscope",
        "v2_auth_admin_pullpush",
        "v2_auth_anon_noscope",
        "v2_auth_anon_private",
        "v2_auth_anon_public",
        "v2_auth_bad_scope",
        "v2_auth_badpw",
        "v2_auth_robot_no_access",
        "v2_auth_robot_pull",
        "v2_auth_unknown_user",
        "v2_auth_user1_own_ns_push",
        "v2_auth_user1_private_other",
        "v2_auth_wrong_service",
    ] {
        replay(name).await;
    }
}

#[actix_web::test]
async fn v2_base_matches_captures() {
    for name in [
        "v2_base_anon",
        "v2_base_basic_admin",
        "v2_base_basic_badpw",
        "v2_base_bearer",
        "v2_base_bearer_garbage",
    ] {
        replay(name).await;
    }
}

#[actix_web::test]
async fn failed_login_throttles_like_quay() {
    let registry = TestRegistry::new(|_| {}).await;
    let path = "/v2/auth?service=127.0.0.1:8180&scope=repository:testorg/hello:pull";
    check(
        "v2_auth_badpw",
        &send(&registry, path, Some(basic("user1", "wrong"))).await,
    );
    check(
        "v2_auth_throttled",
        &send(&registry, path, Some(basic("user1", "password"))).await,
    );
    registry.clock.advance(chrono::Duration::seconds(1));
    let ex = send(&registry, path, Some(basic("user1", "password"))).await;
    assert_eq!(ex.status, 200);
    assert_eq!(
        registry
            .dir
            .account("user1")
            .expect("user1")
            .invalid_login_attempts,
        0
    );
}

#[actix_web::test]
async fn tokens_of_other_instances_verify() {
    let registry = TestRegistry::new(|_| {}).await;
    // A key Python Quay registered in the shared table, and a token it signed.
    let python = TestKey::generate();
    let now = registry.clock_now();
    registry.dir.edit(|d| {
        d.service_keys.push(python.row(Some(
            chrono::DateTime::from_timestamp(now + 600, 0).expect("valid"),
        )))
    });
    let request = quay_ports::crypto::RegistryTokenRequest {
        audience: HOST.into(),
        subject: "admin".into(),
        access: quay_ports::crypto::JsonValue::Array(vec![]),
        context: quay_ports::crypto::JsonValue::Object(vec![]),
        lifetime_s: 3600,
    };
    let signed =
        quay_ports::crypto::TokenSigner::sign(&python.tokens(), &request, now).expect("signed");
    // The key set is reloaded on the unknown kid (the last load is older than the retry delay).
    registry.clock.advance(chrono::Duration::seconds(10));
    let ex = send(&registry, "/v2/", Some(format!("Bearer {signed}"))).await;
    assert_eq!(ex.status, 200, "{}", String::from_utf8_lossy(&ex.body));

    // Unknown key, forged signature, expired key.
    let stranger = TestKey::generate();
    let foreign =
        quay_ports::crypto::TokenSigner::sign(&stranger.tokens(), &request, now).expect("signed");
    let ex = send(&registry, "/v2/", Some(format!("Bearer {foreign}"))).await;
    assert_eq!(
        (ex.status, ex.body.as_slice()),
        (401, br#"{"error": "Unknown service key"}"#.as_slice())
    );
    let mut parts: Vec<&str> = signed.split('.').collect();
    let forged_sig = foreign.rsplit('.').next().expect("sig");
    parts[2] = forged_sig;
    let ex = send(
        &registry,
        "/v2/",
        Some(format!("Bearer {}", parts.join("."))),
    )
    .await;
    assert_eq!(
        (ex.status, ex.body.as_slice()),
        (
            401,
            br#"{"error": "Signature verification failed"}"#.as_slice()
        )
    );
    registry.clock.advance(chrono::Duration::seconds(700));
    let ex = send(&registry, "/v2/", Some(format!("Bearer {signed}"))).await;
    assert_eq!(
        (ex.status, ex.body.as_slice()),
        (401, br#"{"error": "Unknown service key"}"#.as_slice())
    );
}

#[actix_web::test]
async fn anonymous_access_off_and_expiry() {
    let registry = TestRegistry::new(|s| s.anonymous_access = false).await;
    let ex = send(
        &registry,
        "/v2/auth?service=127.0.0.1:8180&scope=repository:admin/publicrepo:pull",
        None,
    )
    .await;
    assert_eq!(ex.status, 401);
    assert_eq!(ex.body, br#"{"error": "Anonymous access is not allowed"}"#);
    let token = admin_token(&registry).await;
    registry.clock.advance(chrono::Duration::seconds(3600 + 31));
    let ex = send(&registry, "/v2/", Some(format!("Bearer {token}"))).await;
    assert_eq!(ex.status, 401);
    assert_eq!(ex.body, br#"{"error": "Signature has expired"}"#);
}

#[actix_web::test]
async fn old_docker_clients_and_advertise_v2() {
    let registry = TestRegistry::new(|_| {}).await;
    let app = test::init_service(App::new().configure(crate::configure(registry.services()))).await;
    let req = test::TestRequest::get()
        .uri("/v2/")
        .insert_header(("User-Agent", "docker/1.5.0 go/go1.4.1"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        test::read_body(resp).await,
        r#"{"error": "Not Found"}"#.as_bytes()
    );
    let req = test::TestRequest::get()
        .uri("/v2/")
        .insert_header(("User-Agent", "docker/24.0.7 go/go1.20"))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 401);
    let hidden = TestRegistry::new(|s| s.advertise_v2 = false).await;
    let ex = send(&hidden, "/v2/", None).await;
    assert_eq!(ex.status, 404);
}

#[actix_web::test]
async fn robots_may_log_in_with_a_registry_jwt() {
    let registry = TestRegistry::new(|_| {}).await;
    let federated = TestKey::generate();
    let now = registry.clock_now();
    registry.dir.edit(|d| {
        d.service_keys.push(federated.row(Some(
            chrono::DateTime::from_timestamp(now + 600, 0).expect("valid"),
        )));
    });
    registry.clock.advance(chrono::Duration::seconds(10));
    let sign = |subject: &str| {
        let request = quay_ports::crypto::RegistryTokenRequest {
            audience: HOST.into(),
            subject: subject.into(),
            access: quay_ports::crypto::JsonValue::Array(vec![]),
            context: quay_ports::crypto::JsonValue::Object(vec![]),
            lifetime_s: 600,
        };
        quay_ports::crypto::TokenSigner::sign(&federated.tokens(), &request, now).expect("signed")
    };
    let path = "/v2/auth?service=127.0.0.1:8180&scope=repository:testorg/robotrepo:pull";
    let ex = send(
        &registry,
        path,
        Some(basic("testorg+bot", &sign("testorg+bot"))),
    )
    .await;
    assert_eq!(ex.status, 200, "{}", String::from_utf8_lossy(&ex.body));
    let body: Value = serde_json::from_slice(&ex.body).expect("JSON");
    let claims = b64_json(
        body["token"]
            .as_str()
            .expect("token")
            .split('.')
            .nth(1)
            .expect("payload"),
    );
    assert_eq!(claims["sub"], "testorg+bot");
    assert_eq!(claims["access"][0]["actions"], json!(["pull"]));
    let ex = send(&registry, path, Some(basic("testorg+bot", &sign("admin")))).await;
    assert_eq!(ex.status, 401);
    let body: Value = serde_json::from_slice(&ex.body).expect("JSON");
    assert_eq!(body["errors"][0]["message"], "Token does not match robot");
}
