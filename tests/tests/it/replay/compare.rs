//! One capture: the request rebuilt with our credentials and per-run values, the expected
//! response taken from the capture (then adjusted by the allow-list), and the comparison.

use serde_json::Value;

use super::seed::{PASSWORD, binary_body, token};
use super::{CAPTURED_HOST, Exchange, Session, allowed, send};

/// Headers a registry client acts on: one we send that the capture lacks is a difference too.
const CLIENT_HEADERS: [&str; 12] = [
    "Docker-Content-Digest",
    "Location",
    "Range",
    "Content-Range",
    "Docker-Upload-UUID",
    "WWW-Authenticate",
    "Link",
    "OCI-Subject",
    "OCI-Filters-Applied",
    "Retry-After",
    "Allow",
    "Docker-Distribution-API-Version",
];

/// The expected body.
pub(crate) enum Body {
    /// Exactly these bytes.
    Bytes(Vec<u8>),
    /// This JSON value (byte-level formatting is covered by `Content-Length`).
    Json(Value),
    /// A registry token whose claims are these (`token__decoded` of the capture).
    Token(Value),
    /// An error envelope with this code and message whose `detail.message` starts with
    /// `detail_prefix` and contains `detail_contains` (allow-list only).
    ErrorDetailPrefix {
        code: &'static str,
        message: &'static str,
        detail_prefix: String,
        detail_contains: &'static str,
    },
}

/// The response the capture (adjusted by the allow-list) expects.
pub(crate) struct Expected {
    pub(crate) status: u16,
    /// Header names as the capture spells them.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Expected {
    /// Sets (or adds) a header.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Removes a header.
    pub(crate) fn remove(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// A JSON error envelope, as quay-rs (and Quay's registry errors) write it.
    pub(crate) fn oci_error(&mut self, status: u16, code: &str, message: &str) {
        let body =
            serde_json::json!({"errors": [{"code": code, "detail": {}, "message": message}]});
        let len = serde_json::to_vec(&body).expect("JSON").len() + 1;
        self.status = status;
        self.set("Content-Type", "application/json");
        self.set("Content-Length", &len.to_string());
        self.body = Body::Json(body);
    }
}

fn basic(user: &str, password: &str) -> String {
    let encoded = quay_fips::b64::std_encode(format!("{user}:{password}").as_bytes());
    format!("Basic {encoded}")
}

/// `(user, scopes)` of the registry token a capture's `bearer jwt ...` description names.
fn token_request(auth: &str) -> (&'static str, &'static [&'static str]) {
    match auth {
        "bearer jwt(admin,no scope)" => ("admin", &[]),
        "bearer jwt(user1,no scope)" => ("user1", &[]),
        "bearer jwt pull" | "bearer jwt pull(testorg/hello)" => {
            ("admin", &["repository:testorg/hello:pull"])
        }
        "bearer jwt pull,push" => ("admin", &["repository:testorg/hello:pull,push"]),
        "bearer jwt(admin, scope nosuchrepo)" => ("admin", &["repository:testorg/nosuchrepo:pull"]),
        other => panic!("no token for the capture's auth `{other}`"),
    }
}

/// Our `Authorization` header for a capture's `auth` description.
async fn authorization(session: &mut Session, auth: &str) -> Option<String> {
    Some(match auth {
        "none" => return None,
        "basic admin" => basic("admin", PASSWORD),
        "basic user1" | "basic user1 (correct pw)" => basic("user1", PASSWORD),
        "basic user1 wrong pw" => basic("user1", "wrong"),
        "basic nosuchuser" => basic("nosuchuser", PASSWORD),
        "basic testorg+bot" => basic("testorg+bot", &session.robot_token),
        // Its header segment decodes to b"g\xb7", the bytes Quay's capture complains about.
        "bearer garbage" => "Bearer Z7c.garbage.garbage".to_owned(),
        jwt => {
            if let Some(t) = session.tokens.get(jwt) {
                return Some(format!("Bearer {t}"));
            }
            let (user, scopes) = token_request(jwt);
            let t = token(&session.base, user, PASSWORD, scopes).await;
            session.tokens.insert(jwt.to_owned(), t.clone());
            format!("Bearer {t}")
        }
    })
}

fn expected(session: &Session, cap: &Value) -> Expected {
    let resp = &cap["response"];
    let headers = resp["headers"]
        .as_object()
        .expect("headers")
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Server" | "Date" | "Connection"))
        .map(|(k, v)| (k.clone(), session.localise(v.as_str().expect("header"))))
        .collect();
    let body = if let Some(text) = resp["body_text"].as_str() {
        Body::Bytes(binary_body(text).unwrap_or_else(|| session.localise(text).into_bytes()))
    } else if let Some(decoded) = resp["body_json"].get("token__decoded") {
        Body::Token(decoded.clone())
    } else {
        Body::Json(resp["body_json"].clone())
    };
    Expected {
        status: u16::try_from(resp["status"].as_u64().expect("status")).expect("u16"),
        headers,
        body,
    }
}

/// Replays one capture; returns the differences found and whether the allow-list applied.
pub(crate) async fn replay_one(
    session: &mut Session,
    name: &str,
    cap: &Value,
) -> (Vec<String>, bool) {
    let req = &cap["request"];
    let method = req["method"].as_str().expect("method");
    let path = session.localise(req["path"].as_str().expect("path"));
    let auth = req["auth"].as_str().expect("auth");
    let mut headers: Vec<(String, String)> = req["headers"]
        .as_object()
        .expect("headers")
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "Connection" | "Content-Length" | "Authorization" | "Host"
            )
        })
        .map(|(k, v)| (k.clone(), v.as_str().expect("header").to_owned()))
        .collect();
    if let Some(a) = authorization(session, auth).await {
        headers.push(("Authorization".to_owned(), a));
    }
    let body = req["body"].as_str().map(|b| b.as_bytes().to_vec());
    let ours = send(&session.base, method, &path, &headers, body).await;

    if name == "v2_upload_start"
        && let (Some(theirs), Some(mine)) = (
            cap["response"]["headers"]["Docker-Upload-UUID"].as_str(),
            ours.header("Docker-Upload-UUID"),
        )
    {
        session.uuids.push((theirs.to_owned(), mine.to_owned()));
    }
    let mut want = expected(session, cap);
    let allowed = allowed::adjust(name, &mut want);
    let mut diffs = compare(method, &want, &ours);
    if name == "v2_catalog_paged" {
        diffs.extend(follow_catalog_link(session, &headers, &ours).await);
    }
    (diffs, allowed)
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

/// A catalog `Link` with its Fernet page token replaced by `<token>`, or why it is malformed.
fn normalise_link(link: &str) -> Result<String, String> {
    let Some((head, rest)) = link.split_once("next_page=") else {
        return Ok(link.to_owned());
    };
    let end = rest.find('>').ok_or("Link without `>`")?;
    let token = &rest[..end];
    let decoded = token.replace("%3D", "=");
    let bytes = quay_fips::b64::url_decode(&decoded).ok_or("page token is not base64url")?;
    // Fernet: version 0x80, timestamp, IV, ciphertext (blocks of 16), HMAC.
    if bytes.first() != Some(&0x80) || bytes.len() < 57 || (bytes.len() - 57) % 16 != 0 {
        return Err(format!("page token {token} is not a Fernet token"));
    }
    Ok(format!("{head}next_page=<token>{}", &rest[end..]))
}

fn compare(method: &str, want: &Expected, ours: &Exchange) -> Vec<String> {
    let mut diffs = Vec::new();
    if ours.status != want.status {
        diffs.push(format!(
            "status: Quay {} / ours {} ({})",
            want.status,
            ours.status,
            String::from_utf8_lossy(&ours.body)
                .chars()
                .take(200)
                .collect::<String>()
        ));
    }
    for (k, v) in &want.headers {
        let got = if k.eq_ignore_ascii_case("Content-Length") {
            ours.header(k).map(str::to_owned).or_else(|| {
                (method != "HEAD" && ours.status != 204).then(|| ours.body.len().to_string())
            })
        } else {
            ours.header(k).map(str::to_owned)
        };
        let (v, got) = if k.eq_ignore_ascii_case("Link") {
            match got.as_deref().map(normalise_link) {
                Some(Err(e)) => {
                    diffs.push(e);
                    continue;
                }
                Some(Ok(g)) => (normalise_link(v).expect("captured Link"), Some(g)),
                None => (v.clone(), None),
            }
        } else {
            (v.clone(), got)
        };
        if k.eq_ignore_ascii_case("Docker-Upload-UUID")
            && let Some(g) = &got
            && !is_uuid(g)
        {
            diffs.push(format!("Docker-Upload-UUID `{g}` is not a UUID"));
        }
        if got.as_deref() != Some(v.as_str()) {
            diffs.push(format!("header {k}: Quay {v:?} / ours {got:?}"));
        }
    }
    for k in CLIENT_HEADERS {
        if let Some(g) = ours.header(k)
            && !want.headers.iter().any(|(w, _)| w.eq_ignore_ascii_case(k))
        {
            diffs.push(format!("header {k}: Quay none / ours {g:?}"));
        }
    }
    diffs.extend(compare_body(&want.body, ours));
    diffs
}

fn b64_json(segment: &str) -> Option<Value> {
    let bytes = quay_fips::b64::url_nopad_decode(segment)?;
    serde_json::from_slice(&bytes).ok()
}

fn compare_body(want: &Body, ours: &Exchange) -> Vec<String> {
    let text = String::from_utf8_lossy(&ours.body);
    let short = |s: &str| s.chars().take(300).collect::<String>();
    match want {
        Body::Bytes(b) => {
            if &ours.body == b {
                vec![]
            } else {
                vec![format!(
                    "body: Quay {:?} / ours {:?}",
                    short(&String::from_utf8_lossy(b)),
                    short(&text)
                )]
            }
        }
        Body::Json(v) => match serde_json::from_slice::<Value>(&ours.body) {
            Ok(o) if &o == v => vec![],
            _ => vec![format!(
                "body: Quay {} / ours {:?}",
                short(&v.to_string()),
                short(&text)
            )],
        },
        Body::ErrorDetailPrefix {
            code,
            message,
            detail_prefix,
            detail_contains,
        } => {
            let o: Value = serde_json::from_slice(&ours.body).unwrap_or_default();
            let e = &o["errors"][0];
            let detail = e["detail"]["message"].as_str().unwrap_or_default();
            if e["code"] == *code
                && e["message"] == *message
                && detail.starts_with(detail_prefix)
                && detail.contains(detail_contains)
            {
                vec![]
            } else {
                vec![format!(
                    "body: Quay {code} {message:?} {detail_prefix:?}… / ours {:?}",
                    short(&text)
                )]
            }
        }
        Body::Token(decoded) => compare_token(decoded, &ours.body),
    }
}

/// Tokens compare claim by claim: `iat`/`nbf`/`exp` differ per run but must keep Quay's
/// lifetime; the `kid` is ours but has the length of a RFC 7638 thumbprint.
fn compare_token(decoded: &Value, body: &[u8]) -> Vec<String> {
    let Some(parts) = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b["token"].as_str().map(str::to_owned))
    else {
        return vec![format!(
            "body: a token / ours {:?}",
            String::from_utf8_lossy(body)
        )];
    };
    let parts: Vec<&str> = parts.split('.').collect();
    let (Some(header), Some(mut claims)) = (
        parts.first().and_then(|p| b64_json(p)),
        parts.get(1).and_then(|p| b64_json(p)),
    ) else {
        return vec!["token: not a JWT".to_owned()];
    };
    let mut diffs = Vec::new();
    let want_header = &decoded["header"];
    if header["alg"] != want_header["alg"] || header["typ"] != want_header["typ"] {
        diffs.push(format!("token header: Quay {want_header} / ours {header}"));
    }
    if header["kid"].as_str().map(str::len) != want_header["kid"].as_str().map(str::len) {
        diffs.push(format!("token kid: ours {}", header["kid"]));
    }
    let iat = claims["iat"].as_i64().unwrap_or_default();
    if claims["nbf"].as_i64() != Some(iat) || claims["exp"].as_i64() != Some(iat + 3600) {
        diffs.push(format!("token times: ours {claims}"));
    }
    let mut want = decoded["claims"].clone();
    for c in [&mut claims, &mut want] {
        if let Some(o) = c.as_object_mut() {
            for k in ["nbf", "iat", "exp"] {
                o.remove(k);
            }
        }
    }
    if claims != want {
        diffs.push(format!("token claims: Quay {want} / ours {claims}"));
    }
    diffs
}

/// The catalog's next page must continue where the first stopped.
async fn follow_catalog_link(
    session: &Session,
    headers: &[(String, String)],
    ours: &Exchange,
) -> Vec<String> {
    let Some(link) = ours.header("Link") else {
        return vec![];
    };
    let Some(next) = link
        .strip_prefix('<')
        .and_then(|l| l.split_once('>'))
        .map(|(u, _)| u.to_owned())
    else {
        return vec![format!("Link {link:?} has no URL")];
    };
    // Relative as Quay writes it, or absolute on the captured host.
    let next = next
        .strip_prefix(&format!("http://{CAPTURED_HOST}"))
        .unwrap_or(&next)
        .to_owned();
    let page = send(&session.base, "GET", &next, headers, None).await;
    let body: Value = serde_json::from_slice(&page.body).unwrap_or_default();
    if page.status == 200 && body["repositories"] == serde_json::json!(["testorg/robotrepo"]) {
        vec![]
    } else {
        vec![format!(
            "next catalog page ({next} on {CAPTURED_HOST}): {} {}",
            page.status,
            String::from_utf8_lossy(&page.body)
        )]
    }
}
