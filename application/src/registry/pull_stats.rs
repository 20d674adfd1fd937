//! Pull counting (`FEATURE_IMAGE_PULL_STATS` with `PULL_METRICS_REDIS`): after a manifest pull
//! Quay counts it by tag (with the digest of the manifest served) or by digest (the digest
//! requested), off the request path. Counting never fails a pull.

use quay_domain::reference::Reference;
use quay_domain::repository::Repository;
use quay_ports::pull_metrics::PullEvent;

use super::Registry;

impl Registry {
    /// Counts a served manifest pull when the feature and a counter backend are configured.
    pub(crate) fn count_pull(&self, repo: &Repository, reference: &Reference, served: &str) {
        if !self.settings.image_pull_stats {
            return;
        }
        let Some(metrics) = &self.ports.pull_metrics else {
            return;
        };
        metrics.record(pull_event(repo, reference, served, self.now().timestamp()));
    }
}

fn pull_event(repo: &Repository, reference: &Reference, served: &str, now_s: i64) -> PullEvent {
    match reference {
        Reference::Tag(tag) => PullEvent::Tag {
            repository_id: repo.id.0,
            tag: tag.as_str().to_owned(),
            manifest_digest: served.to_owned(),
            timestamp_s: now_s,
        },
        Reference::Digest(digest) => PullEvent::Digest {
            repository_id: repo.id.0,
            manifest_digest: digest.as_str().to_owned(),
            timestamp_s: now_s,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_repository as repo;

    #[test]
    fn tag_pulls_count_the_served_digest() {
        let reference = Reference::parse("v1").expect("valid tag");
        let event = pull_event(&repo(), &reference, "sha256:served", 1_700_000_000);
        assert_eq!(event.key(), "pull_events:repo:12:tag:v1:sha256:served");
        assert!(matches!(
            event,
            PullEvent::Tag {
                timestamp_s: 1_700_000_000,
                ..
            }
        ));
    }

    #[test]
    fn digest_pulls_count_the_requested_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let reference = Reference::parse(&d).expect("valid digest");
        let event = pull_event(&repo(), &reference, "sha256:other", 5);
        assert_eq!(event.key(), format!("pull_events:repo:12:digest:{d}"));
    }
}
