//! The tag a push writes (Quay's `create_manifest_and_retarget_tag` and `retarget_tag`):
//! - its expiry from the `quay.expires-after` label (always applied);
//! - its immutability (`FEATURE_IMMUTABLE_TAGS`) from the `quay.immutable` label, decided here,
//!   or an immutability policy, decided by the store inside the push transaction under the
//!   retarget lock (as Quay's `retarget_tag` reads them), which then also writes the
//!   `tag_made_immutable_by_policy` entry prepared here ([`Registry::policy_check`]);
//! - an immutable tag loses its expiry unless `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.
//!
//! The labels are the new manifest's own (or, for a list, those its children share); for a
//! manifest already stored, those stored with it and its children.

use quay_domain::digest::Digest;
use quay_domain::immutability::{
    EXPIRY_LABEL, IMMUTABLE_LABEL, LabelValues, expiry_from_labels, expiry_seconds,
    immutable_from_labels,
};
use quay_domain::manifest::ParsedManifest;
use quay_domain::repository::Repository;
use quay_ports::store::{ManifestLabel, PolicyCheck};

use super::audit::{Meta, dumps};
use super::{Registry, RegistryFailure};

/// What the labels decide for a pushed tag (the policies are applied by the store).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PushedTagRules {
    /// Milliseconds from the push to the new row's `lifetime_end_ms`; `None` for no expiry.
    pub(crate) expires_after_ms: Option<i64>,
    /// `tag.immutable` of the new row as the `quay.immutable` label decides.
    pub(crate) immutable: bool,
}

fn internal(
    context: &'static str,
) -> impl FnOnce(quay_ports::store::ManifestStoreError) -> RegistryFailure {
    move |e| RegistryFailure::internal(context, e)
}

/// The values of `key` in each label list, in order.
fn values_of(labels: &[(String, String)], key: &str) -> Vec<String> {
    labels
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

impl Registry {
    /// Decides expiry and label immutability of a tag pushed with `parsed` (`digest`, the new
    /// manifest's `labels`, the present `children` of a list).
    pub(crate) async fn pushed_tag_rules(
        &self,
        repo: &Repository,
        parsed: &ParsedManifest,
        digest: &Digest,
        labels: &[ManifestLabel],
        children: &[String],
    ) -> Result<PushedTagRules, RegistryFailure> {
        let manifests = &self.ports.manifests;
        let is_list = matches!(parsed, ParsedManifest::List(_));
        let mut digests = Vec::with_capacity(1 + children.len());
        digests.push(digest.as_str().to_owned());
        if is_list {
            digests.extend(children.iter().cloned());
        }
        let stored = manifests
            .quay_labels(repo.id, &digests)
            .await
            .map_err(internal("reading manifest labels"))?;
        let mut stored = stored.into_iter();
        let own_stored = stored.next().flatten();
        let existing = own_stored.is_some();
        let own: Vec<(String, String)> = own_stored.unwrap_or_else(|| {
            labels
                .iter()
                .map(|l| (l.key.clone(), l.value.clone()))
                .collect()
        });
        let children: Vec<Vec<(String, String)>> = stored.map(Option::unwrap_or_default).collect();
        let values = |key: &str| LabelValues {
            own: values_of(&own, key),
            children: children.iter().map(|c| values_of(c, key)).collect(),
        };
        let mut expires_after_ms = expiry_from_labels(&values(EXPIRY_LABEL), !existing, is_list)
            .and_then(expiry_seconds)
            .and_then(|s| s.checked_mul(1000));
        if !self.settings.immutable_tags {
            return Ok(PushedTagRules {
                expires_after_ms,
                ..PushedTagRules::default()
            });
        }
        let immutable = immutable_from_labels(&values(IMMUTABLE_LABEL), !existing, is_list);
        if immutable && !self.settings.immutable_tags_can_expire {
            expires_after_ms = None;
        }
        Ok(PushedTagRules {
            expires_after_ms,
            immutable,
        })
    }

    /// With `FEATURE_IMMUTABLE_TAGS`, how the store applies the policies to pushed tag `tag`,
    /// with the `tag_made_immutable_by_policy` entry Quay's `retarget_tag` logs when one
    /// matches: no performer or address, metadata `tag`, `repo`, `namespace`, `immutable`.
    pub(crate) fn policy_check(&self, repo: &Repository, tag: &str) -> Option<PolicyCheck> {
        if !self.settings.immutable_tags {
            return None;
        }
        let metadata = dumps(&[
            ("tag", Meta::Str(tag.to_owned())),
            ("repo", Meta::Str(repo.name.as_str().to_owned())),
            ("namespace", Meta::Str(repo.namespace.as_str().to_owned())),
            ("immutable", Meta::Bool(true)),
        ]);
        Some(PolicyCheck {
            immutable_can_expire: self.settings.immutable_tags_can_expire,
            audit: quay_ports::store::AuditEntry {
                kind: "tag_made_immutable_by_policy".to_owned(),
                account_id: repo.namespace_id.0,
                performer_id: None,
                repository_id: Some(repo.id.0),
                datetime: self.now(),
                ip: None,
                metadata_json: metadata,
            },
        })
    }
}
