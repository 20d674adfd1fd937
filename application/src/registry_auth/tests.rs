//! Token issuing and checking against in-memory fakes: Quay's downscoping, credentials and
//! backoff, as captured from Python Quay in `contract/registry/v2_auth_*.json`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quay_domain::registry_error::ErrorKind;
use quay_ports::crypto::JsonValue;

use super::fakes::{
    FixedSigner, ManualClock, MemoryAudit, MemoryDirectory, MemorySigner, PlainCipher, PlainHasher,
    PrefixPasswords,
};
use super::{
    IssueError, Keyring, RegistryAuth, RegistryAuthPorts, RegistryAuthSettings, RegistryHost,
    RequestOrigin, TokenRequest,
};

const HOST: &str = "127.0.0.1:8180";
const ORIGIN: RequestOrigin<'static> = RequestOrigin {
    host: HOST,
    scheme: "http",
};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_util::FutureExt::now_or_never(f).expect("fakes never wait")
}

fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = format!("{user}:{password}");
    let mut out = String::new();
    for chunk in data.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

struct Fixture {
    audit: Arc<MemoryAudit>,
    auth: RegistryAuth,
    dir: MemoryDirectory,
    signer: Arc<MemorySigner>,
    clock: Arc<ManualClock>,
}

fn fixture_with(settings: impl FnOnce(&mut RegistryAuthSettings)) -> Fixture {
    let dir = MemoryDirectory::capture_world();
    let now = DateTime::<Utc>::from_timestamp(1_795_779_389, 0).expect("valid");
    let clock = Arc::new(ManualClock::new(now));
    let audit = Arc::new(MemoryAudit::default());
    let signer = Arc::new(MemorySigner::default());
    let keyring = block_on(Keyring::load(
        "quay",
        Arc::new(FixedSigner(signer.clone())),
        Arc::new(dir.clone()),
        clock.clone(),
    ))
    .expect("keyring");
    let mut s = RegistryAuthSettings::defaults(RegistryHost::Configured {
        hostname: HOST.into(),
        scheme: "http".into(),
    });
    s.super_users = vec!["admin".into()];
    settings(&mut s);
    let ports = RegistryAuthPorts {
        users: Arc::new(dir.clone()),
        repositories: Arc::new(dir.clone()),
        permissions: Arc::new(dir.clone()),
        credentials: Arc::new(dir.clone()),
        hasher: Arc::new(PlainHasher),
        cipher: Arc::new(PlainCipher),
        encrypted_passwords: Arc::new(PrefixPasswords),
        audit: Some(audit.clone()),
        clock: clock.clone(),
    };
    Fixture {
        audit,
        auth: RegistryAuth::new(s, ports, Arc::new(keyring)),
        dir,
        signer,
        clock,
    }
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

impl Fixture {
    fn issue(&self, auth: Option<&str>, scopes: &[&str]) -> Result<JsonValue, IssueError> {
        let issued = block_on(self.auth.issue_token(TokenRequest {
            authorization: auth,
            service: Some(HOST),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            origin: ORIGIN,
            ip: Some("10.0.0.1"),
            user_agent: "docker/24.0.7",
        }))?;
        Ok(self.signer.claims(&issued.token).expect("issued"))
    }

    fn actions(&self, auth: Option<&str>, scope: &str) -> Vec<String> {
        let claims = self.issue(auth, &[scope]).expect("issued");
        let Some(JsonValue::Array(access)) = claims.get("access") else {
            panic!("no access")
        };
        let Some(JsonValue::Array(actions)) = access[0].get("actions") else {
            panic!("no actions")
        };
        actions
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect()
    }
}

fn registry_error(result: Result<JsonValue, IssueError>) -> (ErrorKind, String) {
    match result {
        Err(IssueError::Registry(e)) => (e.kind(), e.message().to_owned()),
        other => panic!("expected a registry error, got {other:?}"),
    }
}

#[test]
fn login_token_has_quays_context() {
    let f = fixture();
    let claims = f
        .issue(Some(&basic("admin", "password")), &[])
        .expect("issued");
    assert_eq!(claims.get("sub").and_then(JsonValue::as_str), Some("admin"));
    assert_eq!(claims.get("access"), Some(&JsonValue::Array(vec![])));
    let context = claims.get("context").expect("context");
    let JsonValue::Object(pairs) = context else {
        panic!()
    };
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "version",
            "entity_kind",
            "entity_reference",
            "kind",
            "user",
            "com.apostille.roots",
            "com.apostille.root"
        ]
    );
    assert_eq!(
        context.get("entity_reference").and_then(JsonValue::as_str),
        Some(super::fakes::ADMIN_UUID)
    );
}

#[test]
fn anonymous_and_bad_credentials() {
    let f = fixture();
    assert_eq!(
        registry_error(f.issue(None, &[])).0,
        ErrorKind::Unauthorized
    );
    let (kind, message) = registry_error(f.issue(Some(&basic("nosuchuser", "x")), &[]));
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::InvalidLogin, "Invalid Username or Password")
    );
    let (_, message) = registry_error(f.issue(Some("Basic !!!"), &[]));
    assert_eq!(message, "Specified credentials are invalid");
    // Anonymous pulls: public yes, private nothing; the context has only the TUF claims.
    assert_eq!(
        f.actions(None, "repository:admin/publicrepo:pull"),
        ["pull"]
    );
    assert!(f.actions(None, "repository:testorg/hello:pull").is_empty());
    let claims = f
        .issue(None, &["repository:admin/publicrepo:pull"])
        .expect("issued");
    assert_eq!(
        claims.get("sub").and_then(JsonValue::as_str),
        Some("(anonymous)")
    );
    let off = fixture_with(|s| s.anonymous_access = false);
    assert!(matches!(
        off.issue(None, &["repository:admin/publicrepo:pull"]),
        Err(IssueError::AnonymousNotAllowed)
    ));
}

#[test]
fn failed_logins_back_off() {
    let f = fixture();
    let (_, message) = registry_error(f.issue(Some(&basic("user1", "wrong")), &[]));
    assert_eq!(message, "Invalid Username or Password");
    assert!(matches!(
        f.issue(Some(&basic("user1", "password")), &[]),
        Err(IssueError::TooManyLoginAttempts { retry_after_s: 0 })
    ));
    f.clock.advance(chrono::Duration::seconds(1));
    f.issue(Some(&basic("user1", "password")), &[])
        .expect("after the window");
    assert_eq!(
        f.dir
            .account("user1")
            .expect("exists")
            .invalid_login_attempts,
        0
    );
    f.dir.update_account("user1", |a| a.enabled = false);
    let (_, message) = registry_error(f.issue(Some(&basic("user1", "password")), &[]));
    assert_eq!(
        message,
        "This user has been disabled. Please contact your administrator."
    );
}

#[test]
fn scopes_downscope_like_quay() {
    let f = fixture();
    let admin = basic("admin", "password");
    let user1 = basic("user1", "password");
    assert_eq!(
        f.actions(Some(&admin), "repository:testorg/hello:pull,push"),
        ["push", "pull"]
    );
    assert_eq!(
        f.actions(Some(&admin), "repository:testorg/newrepo:pull,push"),
        ["push", "pull"]
    );
    assert!(
        f.actions(Some(&user1), "repository:testorg/hello:pull,push")
            .is_empty()
    );
    assert_eq!(
        f.actions(Some(&user1), "repository:user1/mine:pull,push"),
        ["push", "pull"]
    );
    assert!(
        f.actions(Some(&user1), "repository:nosuchns/x:pull,push")
            .is_empty()
    );
    let builder = basic("builder", "password");
    assert_eq!(
        f.actions(Some(&builder), "repository:testorg/new:pull,push"),
        ["push"]
    );
    let claims = f
        .issue(
            Some(&admin),
            &[
                "repository:testorg/hello:pull",
                "repository:admin/publicrepo:pull,push",
            ],
        )
        .expect("issued");
    let Some(JsonValue::Array(access)) = claims.get("access") else {
        panic!()
    };
    assert_eq!(access.len(), 2);
    let (kind, message) = registry_error(f.issue(Some(&admin), &["registry:catalog:*"]));
    assert_eq!(kind, ErrorKind::InvalidRequest);
    assert_eq!(
        message,
        "Unable to decode repository and actions: registry:catalog:*"
    );
    let (kind, _) = registry_error(f.issue(Some(&admin), &["repository:testorg/UPPER:pull"]));
    assert_eq!(kind, ErrorKind::NameInvalid);
}

#[test]
fn robots_and_app_tokens() {
    let f = fixture();
    let bot = basic("testorg+bot", "ROBOTTOKEN");
    assert_eq!(
        f.actions(Some(&bot), "repository:testorg/robotrepo:pull"),
        ["pull"]
    );
    assert!(
        f.actions(Some(&bot), "repository:testorg/hello:pull,push")
            .is_empty()
    );
    let claims = f.issue(Some(&bot), &[]).expect("issued");
    let context = claims.get("context").expect("context");
    assert_eq!(
        context.get("entity_kind").and_then(JsonValue::as_str),
        Some("robot")
    );
    assert_eq!(
        context.get("entity_reference").and_then(JsonValue::as_str),
        Some("testorg+bot")
    );
    let (_, message) = registry_error(f.issue(Some(&basic("testorg+bot", "WRONG")), &[]));
    assert_eq!(
        message,
        "Could not find robot with username: testorg+bot and supplied password."
    );
    let (_, message) = registry_error(f.issue(Some(&basic("testorg+nobot", "x")), &[]));
    assert_eq!(message, "Could not find robot with specified username");

    let app = basic("$app", &format!("{}{}", "N".repeat(60), "S".repeat(60)));
    let claims = f.issue(Some(&app), &[]).expect("issued");
    assert_eq!(claims.get("sub").and_then(JsonValue::as_str), Some("user1"));
    let context = claims.get("context").expect("context");
    assert_eq!(
        context.get("entity_kind").and_then(JsonValue::as_str),
        Some("appspecifictoken")
    );
    assert_eq!(
        context.get("entity_reference").and_then(JsonValue::as_str),
        Some("app-uuid")
    );
    let (_, message) = registry_error(f.issue(Some(&basic("$app", "short")), &[]));
    assert_eq!(message, "Invalid token");
}

#[test]
fn bearer_tokens_round_trip() {
    let f = fixture();
    let issued = block_on(f.auth.issue_token(TokenRequest {
        authorization: Some(&basic("admin", "password")),
        service: Some(HOST),
        scopes: vec!["repository:testorg/hello:pull,push".into()],
        origin: ORIGIN,
        ip: None,
        user_agent: "",
    }))
    .expect("issued");
    let header = format!("Bearer {}", issued.token);
    let identity = block_on(f.auth.authorize_bearer(Some(&header), &ORIGIN)).expect("valid");
    assert_eq!(identity.subject.as_deref(), Some("admin"));
    assert!(identity.can("testorg/hello", "push") && identity.can("testorg/hello", "pull"));
    assert!(!identity.can("testorg/robotrepo", "pull"));
    let anonymous = block_on(f.auth.authorize_bearer(None, &ORIGIN)).expect("anonymous");
    assert!(anonymous.is_anonymous() && !anonymous.has_token);
    let refused = block_on(f.auth.authorize_bearer(Some("Basic abc"), &ORIGIN));
    assert!(
        matches!(refused, Err(super::RegistryAuthError::InvalidToken { message }) if message == "Invalid bearer token format")
    );
    f.clock.advance(chrono::Duration::hours(2));
    let expired = block_on(f.auth.authorize_bearer(Some(&header), &ORIGIN));
    assert!(
        matches!(expired, Err(super::RegistryAuthError::InvalidToken { message }) if message == "Signature has expired")
    );
    assert_eq!(
        f.auth.challenge(&ORIGIN, Some("testorg/hello"), &["pull"]),
        r#"Bearer realm="http://127.0.0.1:8180/v2/auth",service="127.0.0.1:8180",scope="repository:testorg/hello:pull""#
    );
}

#[test]
fn access_and_oauth_tokens() {
    let f = fixture();
    let token = basic("$token", &format!("{}{}", "T".repeat(32), "C".repeat(32)));
    assert_eq!(
        f.actions(Some(&token), "repository:testorg/hello:pull,push,*"),
        ["push", "pull"]
    );
    assert!(
        f.actions(Some(&token), "repository:testorg/robotrepo:pull")
            .is_empty()
    );
    let claims = f.issue(Some(&token), &[]).expect("issued");
    assert_eq!(
        claims.get("sub").and_then(JsonValue::as_str),
        Some("(anonymous)")
    );
    let context = claims.get("context").expect("context");
    assert_eq!(
        context.get("kind").and_then(JsonValue::as_str),
        Some("token")
    );
    let (_, message) = registry_error(f.issue(Some(&basic("$token", "short")), &[]));
    assert_eq!(message, "Invalid access token");

    // OAuth: admin's rights capped at read by the `repo:read` scope, no repository creation.
    let oauth = basic(
        "$oauthtoken",
        &format!("{}{}", "O".repeat(20), "P".repeat(20)),
    );
    assert_eq!(
        f.actions(Some(&oauth), "repository:testorg/hello:pull,push"),
        ["pull"]
    );
    assert!(
        f.actions(Some(&oauth), "repository:admin/new:push")
            .is_empty()
    );
    let claims = f.issue(Some(&oauth), &[]).expect("issued");
    assert_eq!(claims.get("sub").and_then(JsonValue::as_str), Some("admin"));
    let context = claims.get("context").expect("context");
    assert_eq!(
        context.get("entity_kind").and_then(JsonValue::as_str),
        Some("oauthtoken")
    );
    assert_eq!(
        context.get("oauth").and_then(JsonValue::as_str),
        Some("oauth-uuid")
    );
    let (_, message) = registry_error(f.issue(
        Some(&basic(
            "$oauthtoken",
            &format!("{}{}", "O".repeat(20), "X".repeat(20)),
        )),
        &[],
    ));
    assert_eq!(message, "OAuth access token could not be validated");
}

#[test]
fn oauth_scopes_cap_roles() {
    use super::basic::Limits;
    use super::tokens::oauth_limits;
    use quay_domain::permission::{Role, TeamRole};
    assert_eq!(
        oauth_limits("repo:read repo:create"),
        Limits::OAuth {
            repo_cap: Some(Role::Read),
            team_cap: Some(TeamRole::Creator),
            superuser: false
        }
    );
    assert_eq!(
        oauth_limits("direct_user_login"),
        Limits::OAuth {
            repo_cap: Some(Role::Admin),
            team_cap: Some(TeamRole::Admin),
            superuser: true
        }
    );
}

#[test]
fn encrypted_passwords() {
    let f = fixture();
    f.issue(Some(&basic("admin", "enc:password")), &[])
        .expect("decrypted");
    let strict = fixture_with(|s| s.require_encrypted_basic_auth = true);
    let (_, message) = registry_error(strict.issue(Some(&basic("admin", "password")), &[]));
    assert!(message.starts_with("Client login with unencrypted passwords is disabled."));
    strict
        .issue(Some(&basic("admin", "enc:password")), &[])
        .expect("decrypted");
}

#[test]
fn logins_are_audited() {
    let f = fixture();
    f.issue(Some(&basic("admin", "password")), &[])
        .expect("login");
    f.issue(Some(&basic("testorg+bot", "ROBOTTOKEN")), &[])
        .expect("robot login");
    f.issue(
        Some(&basic("admin", "password")),
        &["repository:testorg/hello:pull"],
    )
    .expect("not a login");
    let entries = f.audit.0.lock().expect("entries").clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].kind, "login_success");
    assert_eq!(
        (entries[0].account_id, entries[0].performer_id),
        (1, Some(1))
    );
    assert_eq!(
        entries[0].metadata_json,
        r#"{"kind": "user", "type": "v2auth", "useragent": "docker/24.0.7"}"#
    );
    assert_eq!(entries[0].ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(
        (entries[1].account_id, entries[1].performer_id),
        (3, Some(4))
    );
    assert_eq!(
        entries[1].metadata_json,
        r#"{"kind": "robot", "robot": "testorg+bot", "type": "v2auth", "useragent": "docker/24.0.7"}"#
    );
}

#[test]
fn restricted_users_cannot_create_in_their_namespace() {
    let f = fixture_with(|s| {
        s.restricted_users = true;
        s.restricted_users_whitelist = Some(vec!["builder".into()]);
    });
    let user1 = basic("user1", "password");
    // Quay still grants pull on the (missing) repository of one's own namespace.
    assert_eq!(
        f.actions(Some(&user1), "repository:user1/mine:pull,push"),
        ["pull"]
    );
    let builder = basic("builder", "password");
    assert_eq!(
        f.actions(Some(&builder), "repository:builder/mine:pull,push"),
        ["push", "pull"]
    );
    assert!(f.auth.is_restricted_user("testorg+bot"));
}

/// Quay's `v2auth` states: `MIRROR` and `ORG_MIRROR` repositories grant `push` only to their
/// mirror robot, `READ_ONLY` to nobody; `*` only in `NORMAL`.
#[test]
fn repository_states_limit_push_to_the_mirror_robot() {
    use quay_domain::permission::{RepositoryGrants, Role};
    use quay_domain::repository::{RepositoryId, RepositoryState};
    use quay_domain::user::UserId;

    let f = fixture();
    let set_state = |state: RepositoryState, robot: Option<(RepositoryState, i64)>| {
        f.dir.edit(|d| {
            for r in &mut d.repositories {
                if r.id == RepositoryId(11) {
                    r.state = state;
                }
            }
            d.mirror_robots.clear();
            if let Some((s, id)) = robot {
                d.mirror_robots.insert(RepositoryId(11), (s, UserId(id)));
            }
            d.grants.insert(
                (UserId(4), RepositoryId(11)),
                RepositoryGrants {
                    repository_roles: vec![Role::Write],
                    org_team_roles: vec![],
                },
            );
        });
    };
    let bot = basic("testorg+bot", "ROBOTTOKEN");
    let admin = basic("admin", "password");
    let scope = "repository:testorg/hello:push,pull,*";

    set_state(RepositoryState::Normal, None);
    assert_eq!(f.actions(Some(&bot), scope), ["push", "pull"]);
    assert_eq!(f.actions(Some(&admin), scope), ["push", "pull", "*"]);

    set_state(RepositoryState::Mirror, Some((RepositoryState::Mirror, 4)));
    assert_eq!(f.actions(Some(&bot), scope), ["push", "pull"]);
    assert_eq!(f.actions(Some(&admin), scope), ["pull"]);

    // Another robot configured, or no configuration at all: nobody pushes.
    set_state(RepositoryState::Mirror, Some((RepositoryState::Mirror, 99)));
    assert_eq!(f.actions(Some(&bot), scope), ["pull"]);
    set_state(RepositoryState::Mirror, None);
    assert_eq!(f.actions(Some(&bot), scope), ["pull"]);

    // Organization mirrors name their robot in `orgmirrorconfig`.
    set_state(
        RepositoryState::OrgMirror,
        Some((RepositoryState::OrgMirror, 4)),
    );
    assert_eq!(f.actions(Some(&bot), scope), ["push", "pull"]);
    assert_eq!(f.actions(Some(&admin), scope), ["pull"]);

    set_state(
        RepositoryState::ReadOnly,
        Some((RepositoryState::Mirror, 4)),
    );
    assert_eq!(f.actions(Some(&bot), scope), ["pull"]);
    assert_eq!(f.actions(Some(&admin), scope), ["pull"]);
}
