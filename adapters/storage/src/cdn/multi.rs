//! `MultiCDNStorage`: several CDN providers over one S3 bucket, chosen per download by rules.
//!
//! Configured as Quay's: `storage_config` (the S3 parameters every provider shares),
//! `providers` (`name → [CloudFrontedS3Storage | CloudFlareStorage | AkamaiS3Storage, {params}]`,
//! each built from `storage_config` overlaid with its own parameters), `default_provider` and
//! `rules` (`[{namespace?, continent?, host?, target}]`). A download goes to the target of the
//! first rule whose every given field matches (namespace pulled from, GeoIP continent of the
//! client, request `Host`), else to the default provider; everything else (reads, writes,
//! uploads, listing) goes to the default provider. Like Quay's `BaseStorageV2`, it does not
//! announce resumable downloads.
//!
//! Continent rules need a GeoIP database behind [`ClientNetwork::continent`]; without one they
//! never match (as in Quay when its database cannot be opened).

use std::sync::Arc;

use async_trait::async_trait;
use quay_ports::storage::redirect::ClientNetwork;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use serde_json::{Map, Value};
use url::Url;

/// Provider classes a `MultiCDNStorage` may use.
pub const PROVIDER_DRIVERS: &[&str] = &[
    "CloudFrontedS3Storage",
    "CloudFlareStorage",
    "AkamaiS3Storage",
];

/// Keys a rule may have.
pub const RULE_KEYS: &[&str] = &["namespace", "continent", "host", "target"];

/// GeoIP continent codes.
pub const CONTINENT_CODES: &[&str] = &["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// `MultiCDNStorage` parameters, as written in `DISTRIBUTED_STORAGE_CONFIG`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiCdnStorageParams {
    /// Parameters shared by every provider (the S3 bucket).
    pub storage_config: Option<Value>,
    /// `name → [driver, {params}]`.
    pub providers: Option<Value>,
    /// The provider of non-download operations and of unmatched downloads.
    pub default_provider: Option<String>,
    /// Download rules, in order.
    #[serde(default)]
    pub rules: Vec<Map<String, Value>>,
}

/// One rule: every given field must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Namespace pulled from.
    pub namespace: Option<String>,
    /// GeoIP continent code of the client.
    pub continent: Option<String>,
    /// Request `Host` header.
    pub host: Option<String>,
    /// Provider name.
    pub target: String,
}

/// What the factory builds: providers `(name, driver, merged params)`, default and rules.
#[derive(Debug, Clone)]
pub struct MultiCdnPlan {
    /// `(provider name, driver name, storage_config overlaid with the provider's params)`.
    pub providers: Vec<(String, String, Value)>,
    /// Default provider name.
    pub default_provider: String,
    /// Rules.
    pub rules: Vec<Rule>,
}

fn invalid(msg: String) -> StorageError {
    StorageError::backend(
        "config",
        "MultiCDNStorage",
        std::io::Error::new(std::io::ErrorKind::InvalidInput, msg),
    )
}

fn rule_field(rule: &Map<String, Value>, key: &str) -> Option<String> {
    match rule.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl MultiCdnStorageParams {
    /// Checks the configuration as Quay's `_validate_config` does and plans the providers.
    ///
    /// # Errors
    /// `Backend` (`InvalidInput`) naming the first problem, with Quay's wording.
    pub fn plan(&self) -> Result<MultiCdnPlan, StorageError> {
        let storage_config = match &self.storage_config {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => {
                return Err(invalid(
                    "invalid storage_config: should be configuration of underlying storage (eg: S3)"
                        .into(),
                ));
            }
        };
        let providers = match &self.providers {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => {
                return Err(invalid(
                    "providers should be a dict of storage providers with their configs".into(),
                ));
            }
        };
        let Some(default_provider) = self.default_provider.clone().filter(|d| !d.is_empty()) else {
            return Err(invalid("default provider not provided".into()));
        };
        if !providers.contains_key(&default_provider) {
            return Err(invalid(
                "Default provider not found in configured providers".into(),
            ));
        }
        let mut planned = Vec::new();
        for (name, entry) in providers {
            let pair = entry.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                invalid(format!(
                    "Provider {name} invalid. Should contain provider name and config as list"
                ))
            })?;
            let driver = pair[0]
                .as_str()
                .filter(|d| PROVIDER_DRIVERS.contains(d))
                .ok_or_else(|| {
                    invalid(format!(
                        "Provider {name} invalid: the driver must be one of {}",
                        PROVIDER_DRIVERS.join(", ")
                    ))
                })?;
            let Value::Object(own) = &pair[1] else {
                return Err(invalid(format!(
                    "Provider {name} invalid: its config must be a mapping"
                )));
            };
            let mut merged = storage_config.clone();
            merged.extend(own.clone());
            planned.push((name.clone(), driver.to_owned(), Value::Object(merged)));
        }
        let mut rules = Vec::new();
        for rule in &self.rules {
            if let Some(bad) = rule.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
                return Err(invalid(format!(
                    "{rule:?} Invalid: {bad} bad rule key. Should be one of {RULE_KEYS:?}"
                )));
            }
            let Some(target) = rule_field(rule, "target") else {
                return Err(invalid(format!(
                    "target not configured for rule {rule:?}: Add one of the provders as target in the config"
                )));
            };
            if !providers.contains_key(&target) {
                return Err(invalid(format!(
                    "{rule:?} Invalid: {target} not in the configured targets"
                )));
            }
            let continent = rule_field(rule, "continent");
            if let Some(c) = &continent
                && !CONTINENT_CODES.contains(&c.as_str())
            {
                return Err(invalid(format!(
                    "{rule:?} Invalid: {c} not a valid continent. Should be on of {CONTINENT_CODES:?}"
                )));
            }
            rules.push(Rule {
                namespace: rule_field(rule, "namespace"),
                continent,
                host: rule_field(rule, "host"),
                target,
            });
        }
        Ok(MultiCdnPlan {
            providers: planned,
            default_provider,
            rules,
        })
    }
}

impl Rule {
    /// Quay's `match_rule`: every field the rule gives must equal the request's.
    pub fn matches(
        &self,
        continent: Option<&str>,
        namespace: Option<&str>,
        host: Option<&str>,
    ) -> bool {
        let ok = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == got)
        };
        ok(&self.namespace, namespace) && ok(&self.continent, continent) && ok(&self.host, host)
    }
}

/// The multi-CDN driver.
#[derive(Debug, Clone)]
pub struct MultiCdnStorage {
    providers: Vec<(String, Arc<dyn BlobStorage>)>,
    default: Arc<dyn BlobStorage>,
    rules: Vec<Rule>,
    network: Option<Arc<dyn ClientNetwork>>,
}

impl MultiCdnStorage {
    /// The driver over built `providers` (named as in the plan).
    ///
    /// # Errors
    /// `Backend` when the default provider or a rule target was not built.
    pub fn new(
        providers: Vec<(String, Arc<dyn BlobStorage>)>,
        default_provider: &str,
        rules: Vec<Rule>,
        network: Option<Arc<dyn ClientNetwork>>,
    ) -> Result<Self, StorageError> {
        let find = |name: &str| {
            providers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| Arc::clone(s))
        };
        let default = find(default_provider)
            .ok_or_else(|| invalid("Default provider not found in configured providers".into()))?;
        if let Some(r) = rules.iter().find(|r| find(&r.target).is_none()) {
            return Err(invalid(format!(
                "{} not in the configured targets",
                r.target
            )));
        }
        Ok(Self {
            providers,
            default,
            rules,
            network,
        })
    }

    /// Quay's `find_matching_provider`: the name and storage of the provider serving a download.
    pub fn provider_for(&self, request: &DownloadUrlRequest) -> (&str, &Arc<dyn BlobStorage>) {
        let continent = match (request.client_ip, &self.network) {
            (Some(ip), Some(n)) => n.continent(ip),
            _ => None,
        };
        let target = self.rules.iter().find(|r| {
            r.matches(
                continent.as_deref(),
                request.namespace.as_deref(),
                request.host.as_deref(),
            )
        });
        if let Some(rule) = target
            && let Some((name, s)) = self.providers.iter().find(|(n, _)| *n == rule.target)
        {
            return (name.as_str(), s);
        }
        let name = self
            .providers
            .iter()
            .find(|(_, s)| Arc::ptr_eq(s, &self.default))
            .map_or("", |(n, _)| n.as_str());
        (name, &self.default)
    }
}

#[async_trait]
impl BlobStorage for MultiCdnStorage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        self.default.stat(path).await
    }
    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        self.default.get(path, range).await
    }
    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size: Option<u64>,
    ) -> Result<u64, StorageError> {
        self.default.put(path, body, size).await
    }
    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        self.default.delete(path).await
    }
    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        let (name, provider) = self.provider_for(request);
        tracing::debug!(storage.path = path, provider = name, "multi-CDN provider");
        provider.direct_download_url(path, request).await
    }
    async fn begin_upload(&self) -> Result<UploadState, StorageError> {
        self.default.begin_upload().await
    }
    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError> {
        self.default.upload_chunk(state, offset, body).await
    }
    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError> {
        self.default.complete_upload(state, final_path).await
    }
    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError> {
        self.default.cancel_upload(state).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.default.list(prefix).await
    }
    async fn copy_to(&self, destination: &dyn BlobStorage, path: &str) -> Result<(), StorageError> {
        self.default.copy_to(destination, path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(rules: Value) -> MultiCdnStorageParams {
        serde_json::from_value(serde_json::json!({
            "storage_config": {"s3_access_key": "a", "s3_secret_key": "s", "s3_region": "us-east-1",
                               "s3_bucket": "b", "storage_path": "/images"},
            "providers": {
                "CloudFlare": ["CloudFlareStorage", {"cloudflare_domain": "cf",
                               "cloudflare_privatekey_filename": "k.pem"}],
                "AWSCloudFront": ["CloudFrontedS3Storage", {"cloudfront_distribution_domain": "d",
                    "cloudfront_key_id": "k", "cloudfront_privatekey_filename": "k.pem",
                    "cloudfront_distribution_org_overrides": {}}],
                "Akamai": ["AkamaiS3Storage", {"akamai_domain": "ak", "akamai_shared_secret": "00"}]
            },
            "default_provider": "AWSCloudFront",
            "rules": rules
        }))
        .unwrap()
    }

    fn err(p: &MultiCdnStorageParams) -> String {
        format!("{:?}", p.plan().unwrap_err())
    }

    #[test]
    fn plans_quays_example_and_merges_storage_config() {
        let plan = params(serde_json::json!([])).plan().unwrap();
        assert_eq!(plan.providers.len(), 3);
        let cf = plan.providers.iter().find(|p| p.0 == "CloudFlare").unwrap();
        assert_eq!(cf.1, "CloudFlareStorage");
        assert_eq!(cf.2["s3_bucket"], "b");
        assert_eq!(cf.2["cloudflare_domain"], "cf");
    }

    #[test]
    fn refuses_what_quay_refuses() {
        let mut p = params(serde_json::json!([]));
        p.storage_config = Some(serde_json::json!({}));
        assert!(err(&p).contains("invalid storage_config"));
        let mut p = params(serde_json::json!([]));
        p.default_provider = None;
        assert!(err(&p).contains("default provider not provided"));
        let mut p = params(serde_json::json!([]));
        p.providers = Some(serde_json::json!([]));
        assert!(err(&p).contains("providers should be a dict"));
        let mut p = params(serde_json::json!([]));
        p.default_provider = Some("BAD_PROVIDER".into());
        assert!(err(&p).contains("Default provider not found"));
        let p = params(serde_json::json!([{"namespace": "test", "target": "bad-provider"}]));
        assert!(err(&p).contains("not in the configured targets"));
        let p = params(serde_json::json!([{"continent": "XX", "target": "Akamai"}]));
        assert!(err(&p).contains("not a valid continent"));
        let p = params(serde_json::json!([{"country": "US", "target": "Akamai"}]));
        assert!(err(&p).contains("bad rule key"));
        assert!(
            params(serde_json::json!([{"namespace": "test", "target": "AWSCloudFront"}]))
                .plan()
                .is_ok()
        );
    }

    #[test]
    fn rules_match_like_quay() {
        let rule = |ns: Option<&str>, c: Option<&str>, h: Option<&str>| Rule {
            namespace: ns.map(str::to_owned),
            continent: c.map(str::to_owned),
            host: h.map(str::to_owned),
            target: "t".into(),
        };
        assert!(rule(None, Some("NA"), None).matches(Some("NA"), Some("test"), None));
        assert!(rule(Some("test"), None, None).matches(None, Some("test"), Some("quay.io")));
        assert!(rule(Some("test"), None, Some("quay.io")).matches(
            None,
            Some("test"),
            Some("quay.io")
        ));
        assert!(!rule(Some("test"), Some("AF"), None).matches(Some("NA"), Some("test"), None));
        assert!(!rule(None, Some("NA"), None).matches(None, Some("test"), None));
    }
}
