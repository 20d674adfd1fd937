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

// `imagestorage` again, for the backfill's sums over the blobs of a namespace or repository.
diesel::table! {
    imagestorage (id) {
        id -> Integer,
        image_size -> Nullable<BigInt>,
    }
}

// `user` again, for the backfill's "no started namespace row" subquery.
diesel::table! {
    user (id) {
        id -> Integer,
        enabled -> Bool,
        robot -> Bool,
    }
}

// Namespace notification channels and their quota notice state.
diesel::table! {
    namespacenotification (id) {
        id -> Integer,
        uuid -> Varchar,
        namespace_id -> Integer,
        event_id -> Integer,
    }
}

diesel::table! {
    externalnotificationevent (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    quotanotificationstate (id) {
        id -> Integer,
        namespace_id -> Integer,
        threshold_percent -> Integer,
        last_notified_at -> Nullable<Timestamp>,
        cleared -> Bool,
    }
}

diesel::joinable!(quotalimits -> quotatype (quota_type_id));
diesel::joinable!(namespacenotification -> externalnotificationevent (event_id));
diesel::allow_tables_to_appear_in_same_query!(
    quotalimits,
    quotatype,
    manifestblob,
    repository,
    quotanamespacesize,
    quotarepositorysize,
    imagestorage,
    user,
    namespacenotification,
    externalnotificationevent,
);
