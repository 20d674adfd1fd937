//! Diesel descriptions of the Quay tables this adapter reads and writes.
//!
//! Column names and nullability are exactly those of Quay's schema at Alembic head (see
//! `tests/fixtures/quay_schema_*.sql`). Only backend-neutral SQL types are used: `Timestamp`
//! is PostgreSQL's `timestamp without time zone` and SQLite's `DATETIME` text as Python writes
//! it. A table lists only the columns this crate uses so far, plus those it must fill on insert;
//! columns added by recent migrations (e.g. `tag.immutable`) are left out so that databases at
//! older Alembic revisions (such as mirror-registry's) can still be read.

// `user` has 22 columns in Quay; the 16 used so far are listed (diesel's default limit). The
// others (`stripe_id`, `invoice_email_address`, `company`, `family_name`, `given_name`,
// `location`) are nullable and stay NULL on insert, as Python writes them for a new user.
diesel::table! {
    user (id) {
        id -> Integer,
        uuid -> Nullable<Varchar>,
        username -> Varchar,
        password_hash -> Nullable<Varchar>,
        email -> Varchar,
        verified -> Bool,
        organization -> Bool,
        robot -> Bool,
        invoice_email -> Bool,
        invalid_login_attempts -> Integer,
        last_invalid_login -> Timestamp,
        removed_tag_expiration_s -> BigInt,
        enabled -> Bool,
        maximum_queued_builds_count -> Nullable<Integer>,
        creation_date -> Nullable<Timestamp>,
        last_accessed -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deletednamespace (id) {
        id -> Integer,
        namespace_id -> Integer,
        marked -> Timestamp,
        original_username -> Varchar,
        original_email -> Varchar,
        queue_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    visibility (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    repositorykind (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    repository (id) {
        id -> Integer,
        namespace_user_id -> Nullable<Integer>,
        name -> Varchar,
        visibility_id -> Integer,
        description -> Nullable<Text>,
        badge_token -> Varchar,
        kind_id -> Integer,
        trust_enabled -> Bool,
        state -> Integer,
    }
}

diesel::table! {
    tag (id) {
        id -> Integer,
        name -> Varchar,
        repository_id -> Integer,
        manifest_id -> Nullable<Integer>,
        lifetime_start_ms -> BigInt,
        lifetime_end_ms -> Nullable<BigInt>,
        hidden -> Bool,
        reversion -> Bool,
        tag_kind_id -> Integer,
        linked_tag_id -> Nullable<Integer>,
        immutable -> Bool,
    }
}

diesel::table! {
    role (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    teamrole (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    team (id) {
        id -> Integer,
        name -> Varchar,
        organization_id -> Integer,
        role_id -> Integer,
        description -> Text,
    }
}

diesel::table! {
    teammember (id) {
        id -> Integer,
        user_id -> Integer,
        team_id -> Integer,
    }
}

diesel::table! {
    repositorypermission (id) {
        id -> Integer,
        team_id -> Nullable<Integer>,
        user_id -> Nullable<Integer>,
        repository_id -> Integer,
        role_id -> Integer,
    }
}

diesel::table! {
    servicekeyapproval (id) {
        id -> Integer,
        approver_id -> Nullable<Integer>,
        approval_type -> Varchar,
        approved_date -> Timestamp,
        notes -> Text,
    }
}

diesel::table! {
    servicekey (id) {
        id -> Integer,
        name -> Varchar,
        kid -> Varchar,
        service -> Varchar,
        jwk -> Text,
        metadata -> Text,
        created_date -> Timestamp,
        expiration_date -> Nullable<Timestamp>,
        rotation_duration -> Nullable<Integer>,
        approval_id -> Nullable<Integer>,
    }
}

diesel::table! {
    robotaccounttoken (id) {
        id -> Integer,
        robot_account_id -> Integer,
        token -> Varchar,
        fully_migrated -> Bool,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    user,
    deletednamespace,
    visibility,
    repositorykind,
    repository,
    tag,
    role,
    teamrole,
    team,
    teammember,
    repositorypermission,
    servicekeyapproval,
    servicekey,
    robotaccounttoken,
);
