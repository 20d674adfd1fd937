//! Diesel descriptions of Quay's quota and notification tables (the columns the push path
//! uses; Quay's schema at Alembic head).

diesel::table! {
    quotanamespacesize (id) {
        id -> Integer,
        namespace_user_id -> Integer,
        size_bytes -> BigInt,
        backfill_start_ms -> Nullable<BigInt>,
        backfill_complete -> Bool,
    }
}

diesel::table! {
    quotarepositorysize (id) {
        id -> Integer,
        repository_id -> Integer,
        size_bytes -> BigInt,
        backfill_start_ms -> Nullable<BigInt>,
        backfill_complete -> Bool,
    }
}

diesel::table! {
    userorganizationquota (id) {
        id -> Integer,
        namespace_id -> Integer,
        limit_bytes -> BigInt,
    }
}

diesel::table! {
    quotalimits (id) {
        id -> Integer,
        quota_id -> Integer,
        quota_type_id -> Integer,
        percent_of_limit -> Integer,
    }
}

diesel::table! {
    quotatype (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    notification (id) {
        id -> Integer,
        uuid -> Varchar,
        kind_id -> Integer,
        target_id -> Integer,
        metadata_json -> Text,
        created -> Timestamp,
        dismissed -> Bool,
        lookup_path -> Nullable<Varchar>,
    }
}

diesel::table! {
    notificationkind (id) {
        id -> Integer,
        name -> Varchar,
    }
}

// `manifestblob` and `repository` again, so that the "linked elsewhere in the namespace"
// subqueries can name both.
diesel::table! {
    manifestblob (id) {
        id -> Integer,
        repository_id -> Integer,
        manifest_id -> Integer,
        blob_id -> Integer,
    }
}

diesel::table! {
    repository (id) {
        id -> Integer,
        namespace_user_id -> Nullable<Integer>,
        state -> Integer,
    }
}

diesel::joinable!(quotalimits -> quotatype (quota_type_id));
diesel::allow_tables_to_appear_in_same_query!(
    quotalimits,
    quotatype,
    manifestblob,
    repository,
    quotanamespacesize,
);
