//! The tag a push writes (Quay's `create_manifest_and_retarget_tag` and `retarget_tag`):
//! - its expiry from the `quay.expires-after` label (always applied);
//! - its immutability (`FEATURE_IMMUTABLE_TAGS`) from the `quay.immutable` label or an
//!   immutability policy, with the `tag_made_immutable_by_policy` entry Quay logs when a policy
//!   decided; an immutable tag loses its expiry unless `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.
//!
//! The labels are the new manifest's own (or, for a list, those its children share); for a
//! manifest already stored, those stored with it and its children.

use quay_domain::digest::Digest;
use quay_domain::immutability::{
    EXPIRY_LABEL, IMMUTABLE_LABEL, LabelValues, expiry_from_labels, expiry_seconds,
    immutable_by_policy, immutable_from_labels,
};
use quay_domain::manifest::ParsedManifest;
use quay_domain::repository::Repository;
use quay_ports::store::{AuditEntry, ManifestLabel};

use super::audit::{Meta, dumps};
use super::{Registry, RegistryFailure};

/// What the labels and policies decide for a pushed tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PushedTagRules {
    /// Milliseconds from the push to the new row's `lifetime_end_ms`; `None` for no expiry.
    pub(crate) expires_after_ms: Option<i64>,
    /// `tag.immutable` of the new row.
    pub(crate) immutable: bool,
    /// A policy made it immutable (Quay then logs `tag_made_immutable_by_policy`).
    pub(crate) by_policy: bool,
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
    /// Decides expiry and immutability of tag `tag` pushed with `parsed` (`digest`, the new
    /// manifest's `labels`, the present `children` of a list).
    pub(crate) async fn pushed_tag_rules(
        &self,
        repo: &Repository,
        tag: &str,
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
        let from_label = immutable_from_labels(&values(IMMUTABLE_LABEL), !existing, is_list);
        let policies = manifests
            .immutability_policies(repo.id, repo.namespace_id)
            .await
            .map_err(internal("reading immutability policies"))?;
        let by_policy = immutable_by_policy(&policies, tag);
        let immutable = from_label || by_policy;
        if immutable && !self.settings.immutable_tags_can_expire {
            expires_after_ms = None;
        }
        Ok(PushedTagRules {
            expires_after_ms,
            immutable,
            by_policy,
        })
    }

    /// The `tag_made_immutable_by_policy` entry Quay's `retarget_tag` logs: no performer or
    /// address, metadata `tag`, `repo`, `namespace`, `immutable`.
    pub(crate) fn immutable_by_policy_entry(&self, repo: &Repository, tag: &str) -> AuditEntry {
        let metadata = dumps(&[
            ("tag", Meta::Str(tag.to_owned())),
            ("repo", Meta::Str(repo.name.as_str().to_owned())),
            ("namespace", Meta::Str(repo.namespace.as_str().to_owned())),
            ("immutable", Meta::Bool(true)),
        ]);
        AuditEntry {
            kind: "tag_made_immutable_by_policy".to_owned(),
            account_id: repo.namespace_id.0,
            performer_id: None,
            repository_id: Some(repo.id.0),
            datetime: self.now(),
            ip: None,
            metadata_json: metadata,
        }
    }
}
