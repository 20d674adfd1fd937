//! Query fragments shared by the registry stores, as macros so that each expands inside a
//! `db_run!`/`db_write!` body and is type-checked once per backend.

/// `SELECT id FROM <table> WHERE name = $name` as `Result<Option<i32>, diesel::result::Error>`
/// (lookup tables such as `imagestoragelocation`, `mediatype`, `logentrykind`, `tagkind` are
/// always read by name: their ids differ between databases).
macro_rules! id_by_name {
    ($c:expr, $table:path, $name:expr) => {{
        use $table as t;
        t::table
            .filter(t::name.eq($name))
            .select(t::id)
            .first::<i32>($c)
            .await
            .optional()
    }};
}

/// The `imagestorage.id` of blob `$digest` if it is visible in repository `$repo` at `$now`
/// (linked by a manifest, or by an unexpired `uploadedblob`).
macro_rules! visible_blob_id {
    ($c:expr, $repo:expr, $digest:expr, $now:expr) => {{
        use $crate::stores::registry_schema::{imagestorage, manifestblob, uploadedblob};
        imagestorage::table
            .filter(imagestorage::content_checksum.eq($digest))
            .filter(
                imagestorage::id
                    .eq_any(
                        manifestblob::table
                            .filter(manifestblob::repository_id.eq($repo))
                            .select(manifestblob::blob_id),
                    )
                    .or(imagestorage::id.eq_any(
                        uploadedblob::table
                            .filter(uploadedblob::repository_id.eq($repo))
                            .filter(uploadedblob::expires_at.gt($now))
                            .select(uploadedblob::blob_id),
                    )),
            )
            .select(imagestorage::id)
            .order(imagestorage::id.asc())
            .first::<i32>($c)
            .await
            .optional()
    }};
}

pub(crate) use {id_by_name, visible_blob_id};
