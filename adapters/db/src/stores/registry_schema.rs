//! Diesel descriptions of the registry tables (Quay's schema at Alembic head), kept apart from
//! `schema.rs` so they can be joined with each other. Queries touching `tag` or `repository`
//! (declared in `schema.rs`) run as separate statements in the same transaction.

diesel::table! {
    manifest (id) {
        id -> Integer,
        repository_id -> Integer,
        digest -> Varchar,
        media_type_id -> Integer,
        manifest_bytes -> Text,
        config_media_type -> Nullable<Varchar>,
        layers_compressed_size -> Nullable<BigInt>,
        subject -> Nullable<Varchar>,
        subject_backfilled -> Nullable<Bool>,
        artifact_type -> Nullable<Varchar>,
        artifact_type_backfilled -> Nullable<Bool>,
    }
}

diesel::table! {
    manifestblob (id) {
        id -> Integer,
        repository_id -> Integer,
        manifest_id -> Integer,
        blob_id -> Integer,
    }
}

diesel::table! {
    manifestchild (id) {
        id -> Integer,
        repository_id -> Integer,
        manifest_id -> Integer,
        child_manifest_id -> Integer,
    }
}

diesel::table! {
    mediatype (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    imagestorage (id) {
        id -> Integer,
        uuid -> Varchar,
        image_size -> Nullable<BigInt>,
        uncompressed_size -> Nullable<BigInt>,
        uploading -> Nullable<Bool>,
        cas_path -> Bool,
        content_checksum -> Nullable<Varchar>,
    }
}

diesel::table! {
    imagestoragelocation (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    imagestorageplacement (id) {
        id -> Integer,
        storage_id -> Integer,
        location_id -> Integer,
    }
}

diesel::table! {
    uploadedblob (id) {
        id -> Integer,
        repository_id -> Integer,
        blob_id -> Integer,
        uploaded_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    blobupload (id) {
        id -> Integer,
        repository_id -> Integer,
        uuid -> Varchar,
        byte_count -> BigInt,
        sha_state -> Nullable<Text>,
        location_id -> Integer,
        storage_metadata -> Nullable<Text>,
        chunk_count -> Integer,
        uncompressed_byte_count -> Nullable<BigInt>,
        created -> Timestamp,
        piece_sha_state -> Nullable<Text>,
        piece_hashes -> Nullable<Text>,
    }
}

diesel::table! {
    logentrykind (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    logentry3 (id) {
        id -> Integer,
        kind_id -> Integer,
        account_id -> Integer,
        performer_id -> Nullable<Integer>,
        repository_id -> Nullable<Integer>,
        datetime -> Timestamp,
        ip -> Nullable<Varchar>,
        metadata_json -> Text,
    }
}

diesel::table! {
    tagkind (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::table! {
    repositoryactioncount (id) {
        id -> Integer,
        repository_id -> Integer,
        count -> Integer,
        date -> Date,
    }
}

diesel::table! {
    repositorysearchscore (id) {
        id -> Integer,
        repository_id -> Integer,
        score -> BigInt,
        last_updated -> Nullable<Timestamp>,
    }
}

diesel::table! {
    label (id) {
        id -> Integer,
        uuid -> Varchar,
        key -> Varchar,
        value -> Text,
        media_type_id -> Integer,
        source_type_id -> Integer,
    }
}

diesel::table! {
    manifestlabel (id) {
        id -> Integer,
        repository_id -> Integer,
        manifest_id -> Integer,
        label_id -> Integer,
    }
}

diesel::table! {
    labelsourcetype (id) {
        id -> Integer,
        name -> Varchar,
    }
}

diesel::joinable!(manifest -> mediatype (media_type_id));
diesel::joinable!(manifestblob -> imagestorage (blob_id));
diesel::joinable!(uploadedblob -> imagestorage (blob_id));
diesel::joinable!(imagestorageplacement -> imagestorage (storage_id));
diesel::joinable!(imagestorageplacement -> imagestoragelocation (location_id));

diesel::allow_tables_to_appear_in_same_query!(
    manifest,
    manifestblob,
    manifestchild,
    mediatype,
    imagestorage,
    imagestoragelocation,
    imagestorageplacement,
    uploadedblob,
    blobupload,
    logentrykind,
    logentry3,
    tagkind,
    repositoryactioncount,
    repositorysearchscore,
    label,
    manifestlabel,
    labelsourcetype,
);
