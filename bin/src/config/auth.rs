//! `AUTHENTICATION_TYPE` and the keys of the chosen provider.
//!
//! Provider keys (`LDAP_*`, `JWT_*`, `KEYSTONE_*`, `*_LOGIN_CONFIG`) are checked only for
//! the chosen type, as Quay reads them only then.

use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use super::extract::{Ctx, Node};
use super::redact::Params;

/// LDAP settings (`LDAP_*`), Quay's defaults applied.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    /// `LDAP_URI`: `ldap://` or `ldaps://`.
    pub uri: Url,
    /// `LDAP_BASE_DN`, as the list of RDN parts Quay uses.
    pub base_dn: Vec<String>,
    /// `LDAP_ADMIN_DN`: the bind DN.
    pub admin_dn: String,
    /// `LDAP_ADMIN_PASSWD`.
    pub admin_passwd: SecretString,
    /// `LDAP_USER_RDN`.
    pub user_rdn: Vec<String>,
    /// `LDAP_SECONDARY_USER_RDNS`.
    pub secondary_user_rdns: Vec<String>,
    /// `LDAP_UID_ATTR` (default `uid`).
    pub uid_attr: String,
    /// `LDAP_EMAIL_ATTR` (default `mail`).
    pub email_attr: String,
    /// `LDAP_MEMBEROF_ATTR` (default `memberOf`).
    pub memberof_attr: String,
    /// `LDAP_USER_FILTER`.
    pub user_filter: Option<String>,
    /// `LDAP_SUPERUSER_FILTER`.
    pub superuser_filter: Option<String>,
    /// `LDAP_GLOBAL_READONLY_SUPERUSER_FILTER`.
    pub global_readonly_superuser_filter: Option<String>,
    /// `LDAP_RESTRICTED_USER_FILTER`.
    pub restricted_user_filter: Option<String>,
    /// `LDAP_ALLOW_INSECURE_FALLBACK` (default false).
    pub allow_insecure_fallback: bool,
}

/// One OIDC provider (a `<NAME>_LOGIN_CONFIG` mapping).
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// The config key (`RHSSO_LOGIN_CONFIG`).
    pub key: String,
    /// `OIDC_SERVER`: the issuer base URL.
    pub server: Url,
    /// `CLIENT_ID`.
    pub client_id: String,
    /// `CLIENT_SECRET`.
    pub client_secret: Option<SecretString>,
    /// `SERVICE_NAME`.
    pub service_name: Option<String>,
    /// Every other setting of the mapping (secrets redacted in `Debug`).
    pub other: Params,
}

/// The authentication backend and its settings.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// `Database`: users and passwords in Quay's database.
    Database,
    /// `LDAP`.
    Ldap(Box<LdapConfig>),
    /// `JWT`: an external JWT verify endpoint.
    Jwt {
        /// `JWT_VERIFY_ENDPOINT`.
        verify_endpoint: Url,
        /// `JWT_AUTH_ISSUER`.
        issuer: String,
        /// `JWT_QUERY_ENDPOINT`.
        query_endpoint: Option<Url>,
        /// `JWT_GETUSER_ENDPOINT`.
        getuser_endpoint: Option<Url>,
    },
    /// `Keystone`: OpenStack Keystone.
    Keystone {
        /// `KEYSTONE_AUTH_URL`.
        auth_url: Url,
        /// `KEYSTONE_AUTH_VERSION` (default 2).
        version: u64,
        /// `KEYSTONE_ADMIN_USERNAME`.
        admin_username: String,
        /// `KEYSTONE_ADMIN_PASSWORD`.
        admin_password: SecretString,
        /// `KEYSTONE_ADMIN_TENANT`.
        admin_tenant: String,
    },
    /// `OIDC`: external OpenID Connect providers.
    Oidc(Vec<OidcProvider>),
    /// `AppToken`: only app-specific tokens may log in.
    AppToken,
}

impl AuthConfig {
    /// The `AUTHENTICATION_TYPE` spelling.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthConfig::Database => "Database",
            AuthConfig::Ldap(_) => "LDAP",
            AuthConfig::Jwt { .. } => "JWT",
            AuthConfig::Keystone { .. } => "Keystone",
            AuthConfig::Oidc(_) => "OIDC",
            AuthConfig::AppToken => "AppToken",
        }
    }

    /// Whether users live in an external identity provider.
    #[must_use]
    pub fn is_external(&self) -> bool {
        !matches!(self, AuthConfig::Database | AuthConfig::AppToken)
    }
}

const TYPES: &str = "Database, LDAP, JWT, Keystone, OIDC, AppToken";

fn required_str(ctx: &mut Ctx, root: Node<'_>, key: &str, why: &str) -> Option<String> {
    let v = ctx.str(root, key);
    if v.is_none() && root.raw(key).is_none() {
        ctx.missing(root.key_path(key), why.to_owned());
    }
    v
}

fn url(ctx: &mut Ctx, root: Node<'_>, key: &str, required: bool, schemes: &[&str]) -> Option<Url> {
    let s = if required {
        required_str(
            ctx,
            root,
            key,
            &format!("set {key} to a {} URL", schemes.join(" or ")),
        )?
    } else {
        ctx.str(root, key)?
    };
    match Url::parse(&s) {
        Ok(u) if schemes.contains(&u.scheme()) => Some(u),
        Ok(u) => {
            ctx.error(
                root.key_path(key),
                format!("scheme `{}` is not allowed", u.scheme()),
                format!("use a {} URL", schemes.join(" or ")),
            );
            None
        }
        Err(e) => {
            ctx.error(
                root.key_path(key),
                format!("not a URL ({e})"),
                format!("use a {} URL", schemes.join(" or ")),
            );
            None
        }
    }
}

/// `LDAP_BASE_DN` and friends are lists in the schema; a plain string is accepted too.
fn dn_list(ctx: &mut Ctx, root: Node<'_>, key: &str) -> Option<Vec<String>> {
    match root.raw(key)? {
        Value::String(s) => Some(vec![s.clone()]),
        _ => ctx.str_list(root, key),
    }
}

/// Reads `AUTHENTICATION_TYPE` (default `Database`) and its provider keys.
pub(crate) fn parse(ctx: &mut Ctx, root: Node<'_>) -> Option<AuthConfig> {
    let kind = ctx
        .str(root, "AUTHENTICATION_TYPE")
        .unwrap_or_else(|| "Database".to_owned());
    let web = ["http", "https"];
    match kind.as_str() {
        "Database" => Some(AuthConfig::Database),
        "AppToken" => Some(AuthConfig::AppToken),
        "LDAP" => parse_ldap(ctx, root).map(|l| AuthConfig::Ldap(Box::new(l))),
        "JWT" => {
            let verify = url(ctx, root, "JWT_VERIFY_ENDPOINT", true, &web);
            let issuer = required_str(ctx, root, "JWT_AUTH_ISSUER", "set the issuer of the JWTs");
            let query = url(ctx, root, "JWT_QUERY_ENDPOINT", false, &web);
            let getuser = url(ctx, root, "JWT_GETUSER_ENDPOINT", false, &web);
            Some(AuthConfig::Jwt {
                verify_endpoint: verify?,
                issuer: issuer?,
                query_endpoint: query,
                getuser_endpoint: getuser,
            })
        }
        "Keystone" => {
            let auth_url = url(ctx, root, "KEYSTONE_AUTH_URL", true, &web);
            let version = ctx.u64(root, "KEYSTONE_AUTH_VERSION").unwrap_or(2);
            let user = required_str(
                ctx,
                root,
                "KEYSTONE_ADMIN_USERNAME",
                "set the Keystone admin user",
            );
            let pass = required_str(
                ctx,
                root,
                "KEYSTONE_ADMIN_PASSWORD",
                "set the Keystone admin password",
            );
            let tenant = required_str(
                ctx,
                root,
                "KEYSTONE_ADMIN_TENANT",
                "set the Keystone admin tenant",
            );
            Some(AuthConfig::Keystone {
                auth_url: auth_url?,
                version,
                admin_username: user?,
                admin_password: SecretString::from(pass?),
                admin_tenant: tenant?,
            })
        }
        "OIDC" => parse_oidc(ctx, root).map(AuthConfig::Oidc),
        other => {
            ctx.error(
                "AUTHENTICATION_TYPE",
                format!("unknown type `{other}`"),
                format!("use one of: {TYPES}"),
            );
            None
        }
    }
}

fn parse_ldap(ctx: &mut Ctx, root: Node<'_>) -> Option<LdapConfig> {
    let uri = url(ctx, root, "LDAP_URI", true, &["ldap", "ldaps"]);
    let base_dn = dn_list(ctx, root, "LDAP_BASE_DN");
    if root.raw("LDAP_BASE_DN").is_none() {
        ctx.missing("LDAP_BASE_DN", "set the base DN, e.g. [dc=example, dc=com]");
    }
    let admin_dn = required_str(ctx, root, "LDAP_ADMIN_DN", "set the DN Quay binds as");
    let admin_passwd = required_str(ctx, root, "LDAP_ADMIN_PASSWD", "set the bind password");
    let user_rdn = dn_list(ctx, root, "LDAP_USER_RDN").unwrap_or_default();
    let secondary_user_rdns = dn_list(ctx, root, "LDAP_SECONDARY_USER_RDNS").unwrap_or_default();
    let cfg = LdapConfig {
        uri: uri?,
        base_dn: base_dn?,
        admin_dn: admin_dn?,
        admin_passwd: SecretString::from(admin_passwd?),
        user_rdn,
        secondary_user_rdns,
        uid_attr: ctx
            .str(root, "LDAP_UID_ATTR")
            .unwrap_or_else(|| "uid".to_owned()),
        email_attr: ctx
            .str(root, "LDAP_EMAIL_ATTR")
            .unwrap_or_else(|| "mail".to_owned()),
        memberof_attr: ctx
            .str(root, "LDAP_MEMBEROF_ATTR")
            .unwrap_or_else(|| "memberOf".to_owned()),
        user_filter: ctx.str(root, "LDAP_USER_FILTER"),
        superuser_filter: ctx.str(root, "LDAP_SUPERUSER_FILTER"),
        global_readonly_superuser_filter: ctx.str(root, "LDAP_GLOBAL_READONLY_SUPERUSER_FILTER"),
        restricted_user_filter: ctx.str(root, "LDAP_RESTRICTED_USER_FILTER"),
        allow_insecure_fallback: ctx.bool_or(root, "LDAP_ALLOW_INSECURE_FALLBACK", false),
    };
    Some(cfg)
}

/// Every `<NAME>_LOGIN_CONFIG` except GitHub and Google is an OIDC provider in Quay.
fn parse_oidc(ctx: &mut Ctx, root: Node<'_>) -> Option<Vec<OidcProvider>> {
    let mut providers = Vec::new();
    for (key, value) in root.map {
        let Some(prefix) = key.strip_suffix("_LOGIN_CONFIG") else {
            continue;
        };
        if matches!(prefix, "GITHUB" | "GOOGLE") || value.is_null() {
            continue;
        }
        if matches!(prefix, "LDAP" | "JWT" | "KEYSTONE") {
            ctx.error(
                key.clone(),
                "reserved provider name",
                "rename the key, e.g. MYSSO_LOGIN_CONFIG",
            );
            continue;
        }
        let Value::Object(map) = value else { continue }; // type error reported by the key table
        let n = Node { map, path: key };
        let server = url(ctx, n, "OIDC_SERVER", true, &["http", "https"]);
        let client_id = required_str(
            ctx,
            n,
            "CLIENT_ID",
            "set the client id registered at the provider",
        );
        let mut other = map.clone();
        for k in ["OIDC_SERVER", "CLIENT_ID", "CLIENT_SECRET", "SERVICE_NAME"] {
            other.remove(k);
        }
        let client_secret = ctx.secret(n, "CLIENT_SECRET");
        let service_name = ctx.str(n, "SERVICE_NAME");
        if let (Some(server), Some(client_id)) = (server, client_id) {
            providers.push(OidcProvider {
                key: key.clone(),
                server,
                client_id,
                client_secret,
                service_name,
                other: Params(other),
            });
        }
    }
    if providers.is_empty() && !ctx.errors.iter().any(|e| e.path.contains("_LOGIN_CONFIG")) {
        ctx.missing(
            "<NAME>_LOGIN_CONFIG",
            "AUTHENTICATION_TYPE OIDC needs a provider mapping, e.g. MYSSO_LOGIN_CONFIG: {OIDC_SERVER, CLIENT_ID, CLIENT_SECRET, SERVICE_NAME}",
        );
        return None;
    }
    Some(providers)
}
