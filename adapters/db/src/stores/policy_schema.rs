//! Diesel descriptions of the tables the push rules read or write beside the registry tables:
//! `manifestsecuritystatus`, the immutability policies, the pull statistics, the mirror
//! configurations and the tag notification records (the columns quay-rs uses; Quay's schema at
//! Alembic head).

diesel::table! {
    manifestsecuritystatus (id) {
        id -> Integer,
        manifest_id -> Integer,
        repository_id -> Integer,
        index_status -> Integer,
        error_json -> Text,
        last_indexed -> Timestamp,
        indexer_hash -> Varchar,
        indexer_version -> Integer,
        metadata_json -> Text,
    }
}

diesel::table! {
    repositoryimmutabilitypolicy (id) {
        id -> Integer,
        uuid -> Varchar,
        namespace_id -> Integer,
        repository_id -> Integer,
        policy -> Text,
    }
}

diesel::table! {
    namespaceimmutabilitypolicy (id) {
        id -> Integer,
        uuid -> Varchar,
        namespace_id -> Integer,
        policy -> Text,
    }
}

diesel::table! {
    tagpullstatistics (id) {
        id -> Integer,
        repository_id -> Integer,
        tag_name -> Varchar,
        tag_pull_count -> BigInt,
        last_tag_pull_date -> Timestamp,
        current_manifest_digest -> Nullable<Varchar>,
    }
}

diesel::table! {
    repomirrorconfig (id) {
        id -> Integer,
        repository_id -> Integer,
        internal_robot_id -> Integer,
        root_rule_id -> Integer,
    }
}

diesel::table! {
    repomirrorrule (id) {
        id -> Integer,
    }
}

diesel::table! {
    orgmirrorconfig (id) {
        id -> Integer,
        internal_robot_id -> Integer,
    }
}

diesel::table! {
    orgmirrorrepository (id) {
        id -> Integer,
        org_mirror_config_id -> Integer,
        repository_id -> Nullable<Integer>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    repomirrorconfig,
    repomirrorrule,
    orgmirrorconfig,
    orgmirrorrepository,
);

diesel::table! {
    manifestpullstatistics (id) {
        id -> Integer,
        repository_id -> Integer,
        manifest_digest -> Varchar,
        manifest_pull_count -> BigInt,
        last_manifest_pull_date -> Timestamp,
    }
}

diesel::table! {
    /// A tag-expiry notification already sent (`TagNotificationSuccess`); deleted with its tag.
    tagnotificationsuccess (id) {
        id -> Integer,
        notification_id -> Integer,
        tag_id -> Integer,
        method_id -> Integer,
    }
}
