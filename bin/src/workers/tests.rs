//! The quota backfill worker's configuration, read as Quay reads it.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{Mode, load};

fn loaded(yaml: &str) -> QuayConfig {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).expect("write config");
    load(
        Some(Mode::Mirror),
        Some(&path),
        &|_| None,
        Path::new(dir.path()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .config
}

#[test]
fn quay_defaults() {
    let config = loaded("FEATURE_QUOTA_MANAGEMENT: true\n");
    assert_eq!(
        quota_totals_settings(&config),
        QuotaTotalsSettings::default()
    );
    assert!(quota_totals_needed(&config));
}

#[test]
fn off_without_quota_management_or_backfill_or_in_read_only() {
    assert!(!quota_totals_needed(&loaded("{}\n")));
    assert!(!quota_totals_needed(&loaded(
        "FEATURE_QUOTA_MANAGEMENT: true\nQUOTA_BACKFILL: false\n"
    )));
    assert!(!quota_totals_needed(&loaded(
        "FEATURE_QUOTA_MANAGEMENT: true\nREGISTRY_STATE: readonly\n"
    )));
}

#[test]
fn keys_are_read() {
    let config = loaded(
        "FEATURE_QUOTA_MANAGEMENT: true\nQUOTA_TOTAL_DELAY_SECONDS: 7\n\
         QUOTA_BACKFILL_POLL_PERIOD: 3\nQUOTA_BACKFILL_BATCH_SIZE: 9\n\
         QUOTA_NOTIFICATION_WORKER_POLL_PERIOD: 60\n",
    );
    assert_eq!(
        quota_totals_settings(&config),
        QuotaTotalsSettings {
            start_delay: Duration::from_secs(7),
            poll_period: Duration::from_secs(3),
            batch_size: 9,
            notice_poll_period: Duration::from_secs(60),
        }
    );
    // `null` is no delay; a zero poll period is one second.
    let config = loaded("QUOTA_TOTAL_DELAY_SECONDS: null\nQUOTA_BACKFILL_POLL_PERIOD: 0\n");
    let settings = quota_totals_settings(&config);
    assert_eq!(settings.start_delay, Duration::ZERO);
    assert_eq!(settings.poll_period, Duration::from_secs(1));
}

#[test]
fn notice_settings() {
    use quay_application::quota_notify::QuotaNoticeSettings;
    let config = loaded("SERVER_HOSTNAME: quay.example.com\nPREFERRED_URL_SCHEME: https\n");
    let notices = crate::registry_content::quota_notice_settings(&config);
    assert_eq!(
        notices,
        QuotaNoticeSettings {
            enabled: false,
            cooldown: Duration::from_secs(86_400),
            base_url: "https://quay.example.com".into(),
            queue: "notification".into(),
        }
    );
    let config = loaded(
        "SERVER_HOSTNAME: quay.example.com\nFEATURE_QUOTA_NOTIFICATIONS: true\n\
         QUOTA_NOTIFICATION_COOLDOWN_SECONDS: 60\nNOTIFICATION_QUEUE_NAME: notes\n",
    );
    let notices = crate::registry_content::quota_notice_settings(&config);
    assert!(notices.enabled);
    assert_eq!(notices.cooldown, Duration::from_secs(60));
    assert_eq!(notices.queue, "notes");
}
