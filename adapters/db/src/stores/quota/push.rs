//! The quota steps of a manifest push, as macros expanded inside the push transaction of
//! `DbManifestStore::commit_manifest_push` (each type-checked once per backend). They expect
//! `diesel::prelude::*` and `diesel_async::RunQueryDsl` in scope and convert diesel errors with
//! `?` into the caller's error type.

/// The namespace usage of repository `$repo` (`Option<NamespaceUsage>`, `None` when the
/// repository or its namespace is missing), with the repository's upload bytes when
/// `$with_uploads`. Evaluates to `Result<_, diesel::result::Error>`.
macro_rules! namespace_usage {
    ($c:expr, $repo:expr, $with_uploads:expr) => {{
        use $crate::schema::repository as r;
        let (c, repo, with_uploads): (_, i32, bool) = (&mut *$c, $repo, $with_uploads);
        async {
            let Some(Some(ns)) = r::table
                .filter(r::id.eq(repo))
                .select(r::namespace_user_id)
                .first::<Option<i32>>(c)
                .await
                .optional()?
            else {
                return Ok::<_, diesel::result::Error>(None);
            };
            $crate::stores::quota::usage_of_namespace!(c, ns, with_uploads.then_some(repo))
        }
        .await
    }};
}

/// The usage of namespace `$ns` (`Option<NamespaceUsage>`, `None` when it is missing), with
/// the upload bytes of repository `$upload_repo` (`Option<i32>`). Evaluates to
/// `Result<_, diesel::result::Error>`.
macro_rules! usage_of_namespace {
    ($c:expr, $ns:expr, $upload_repo:expr) => {{
        use $crate::schema::user as u;
        use $crate::stores::quota::schema::{
            quotalimits as ql, quotanamespacesize as qns, quotatype as qt,
            userorganizationquota as uoq,
        };
        use $crate::stores::registry_schema::blobupload as bu;
        let (c, ns, upload_repo): (_, i32, Option<i32>) = (&mut *$c, $ns, $upload_repo);
        async {
            let Some(name) = u::table
                .filter(u::id.eq(ns))
                .select(u::username)
                .first::<String>(c)
                .await
                .optional()?
            else {
                return Ok::<_, diesel::result::Error>(None);
            };
            let size_bytes: i64 = qns::table
                .filter(qns::namespace_user_id.eq(ns))
                .select(qns::size_bytes)
                .first::<i64>(c)
                .await
                .optional()?
                .unwrap_or(0);
            let upload_bytes: i64 = match upload_repo {
                Some(repo) => bu::table
                    .filter(bu::repository_id.eq(repo))
                    .select(bu::byte_count)
                    .load::<i64>(c)
                    .await?
                    .into_iter()
                    .fold(0i64, i64::saturating_add),
                None => 0,
            };
            let quota_row: Option<(i32, i64)> = uoq::table
                .filter(uoq::namespace_id.eq(ns))
                .select((uoq::id, uoq::limit_bytes))
                .order(uoq::id.asc())
                .first(c)
                .await
                .optional()?;
            let quota = match quota_row {
                None => None,
                Some((quota_id, limit_bytes)) => {
                    let limits: Vec<(i32, String)> = ql::table
                        .inner_join(qt::table)
                        .filter(ql::quota_id.eq(quota_id))
                        .select((ql::percent_of_limit, qt::name))
                        .order(ql::id.asc())
                        .load(c)
                        .await?;
                    Some(quay_domain::quota::NamespaceQuota {
                        limit_bytes,
                        limits: limits
                            .into_iter()
                            .map(|(p, n)| quay_domain::quota::QuotaLimit {
                                percent_of_limit: i64::from(p),
                                severity: quay_domain::quota::QuotaSeverity::from_name(&n),
                            })
                            .collect(),
                    })
                }
            };
            Ok(Some(quay_ports::store::NamespaceUsage {
                namespace_id: quay_domain::user::UserId(i64::from(ns)),
                namespace: name,
                size_bytes,
                upload_bytes,
                quota,
            }))
        }
        .await
    }};
}

/// Quay's `reset_backfill`: the started totals of repository `$repo` and its namespace go back
/// to the backfill worker.
macro_rules! invalidate_sizes {
    ($c:expr, $repo:expr) => {{
        use $crate::stores::quota::schema::{
            quotanamespacesize as qns, quotarepositorysize as qrs, repository as r,
        };
        let (c, repo): (_, i32) = (&mut *$c, $repo);
        diesel::update(
            qrs::table
                .filter(qrs::repository_id.eq(repo))
                .filter(qrs::backfill_start_ms.is_not_null()),
        )
        .set((
            qrs::size_bytes.eq(0i64),
            qrs::backfill_start_ms.eq(None::<i64>),
            qrs::backfill_complete.eq(false),
        ))
        .execute(c)
        .await?;
        diesel::update(
            qns::table
                .filter(
                    qns::namespace_user_id
                        .nullable()
                        .eq_any(r::table.filter(r::id.eq(repo)).select(r::namespace_user_id)),
                )
                .filter(qns::backfill_start_ms.is_not_null()),
        )
        .set((
            qns::size_bytes.eq(0i64),
            qns::backfill_start_ms.eq(None::<i64>),
            qns::backfill_complete.eq(false),
        ))
        .execute(c)
        .await?;
    }};
}

/// Quay's `update_sizes(..., ADD)` for new manifest `$manifest_id` of repository `$repo`.
macro_rules! track_added_manifest {
    ($c:expr, $repo:expr, $manifest_id:expr) => {{
        use quay_domain::quota::{
            BlobUse, SizeOperation, SizeRow, SizeWrite, blob_totals, size_write,
        };
        use $crate::schema::user as u;
        use $crate::stores::quota::schema::{
            manifestblob as mb, quotanamespacesize as qns, quotarepositorysize as qrs,
            repository as r,
        };
        use $crate::stores::registry_schema::{imagestorage as st, manifestblob as lmb};
        let (c, repo, manifest_id): (_, i32, i32) = (&mut *$c, $repo, $manifest_id);
        let mut blobs: Vec<(i32, Option<i64>)> = lmb::table
            .inner_join(st::table)
            .filter(lmb::manifest_id.eq(manifest_id))
            .select((lmb::blob_id, st::image_size))
            .order(lmb::blob_id.asc())
            .load(c)
            .await?;
        blobs.dedup_by_key(|b| b.0);
        let ns: Option<Option<i32>> = r::table
            .filter(r::id.eq(repo))
            .select(r::namespace_user_id)
            .first(c)
            .await
            .optional()?;
        let ns = ns.flatten();
        let eligible = match ns {
            Some(ns) if !blobs.is_empty() => {
                u::table
                    .filter(u::id.eq(ns))
                    .filter(u::enabled.eq(true))
                    .filter(u::robot.eq(false))
                    .count()
                    .get_result::<i64>(c)
                    .await?
                    > 0
            }
            _ => false,
        };
        if let (true, Some(ns)) = (eligible, ns) {
            let mut uses = Vec::with_capacity(blobs.len());
            for (blob, size) in &blobs {
                let in_namespace: i64 = mb::table
                    .filter(mb::blob_id.eq(*blob))
                    .filter(mb::manifest_id.ne(manifest_id))
                    .filter(
                        mb::repository_id
                            .eq_any(r::table.filter(r::namespace_user_id.eq(ns)).select(r::id)),
                    )
                    .count()
                    .get_result(c)
                    .await?;
                let in_repository: i64 = if in_namespace > 0 {
                    mb::table
                        .filter(mb::blob_id.eq(*blob))
                        .filter(mb::manifest_id.ne(manifest_id))
                        .filter(mb::repository_id.eq(repo))
                        .count()
                        .get_result(c)
                        .await?
                } else {
                    0
                };
                uses.push(BlobUse {
                    size: *size,
                    elsewhere_in_namespace: in_namespace > 0,
                    elsewhere_in_repository: in_repository > 0,
                });
            }
            let (ns_total, repo_total) = blob_totals(&uses);

            let ns_row: Option<bool> = qns::table
                .filter(qns::namespace_user_id.eq(ns))
                .select(qns::backfill_complete)
                .first(c)
                .await
                .optional()?;
            let (row, only) = match ns_row {
                Some(true) => (SizeRow::Complete, false),
                Some(false) => (SizeRow::Pending, false),
                None => {
                    let others: i64 = mb::table
                        .filter(mb::manifest_id.ne(manifest_id))
                        .filter(
                            mb::repository_id.eq_any(
                                r::table
                                    .filter(r::namespace_user_id.eq(ns))
                                    .filter(r::state.ne($crate::stores::quota::MARKED_FOR_DELETION))
                                    .select(r::id),
                            ),
                        )
                        .count()
                        .get_result(c)
                        .await?;
                    (SizeRow::Missing, others == 0)
                }
            };
            match size_write(row, SizeOperation::Add, only, ns_total) {
                SizeWrite::Nothing => {}
                SizeWrite::Insert(n) => {
                    diesel::insert_into(qns::table)
                        .values((
                            qns::namespace_user_id.eq(ns),
                            qns::size_bytes.eq(n),
                            qns::backfill_start_ms.eq(Some(0i64)),
                            qns::backfill_complete.eq(true),
                        ))
                        .on_conflict(qns::namespace_user_id)
                        .do_update()
                        .set(qns::size_bytes.eq(qns::size_bytes + n))
                        .execute(c)
                        .await?;
                }
                SizeWrite::Add(n) => {
                    diesel::update(qns::table.filter(qns::namespace_user_id.eq(ns)))
                        .set(qns::size_bytes.eq(qns::size_bytes + n))
                        .execute(c)
                        .await?;
                }
                SizeWrite::Subtract(n) => {
                    diesel::update(qns::table.filter(qns::namespace_user_id.eq(ns)))
                        .set(qns::size_bytes.eq(qns::size_bytes - n))
                        .execute(c)
                        .await?;
                }
            }

            let repo_row: Option<bool> = qrs::table
                .filter(qrs::repository_id.eq(repo))
                .select(qrs::backfill_complete)
                .first(c)
                .await
                .optional()?;
            let (row, only) = match repo_row {
                Some(true) => (SizeRow::Complete, false),
                Some(false) => (SizeRow::Pending, false),
                None => {
                    let others: i64 = mb::table
                        .filter(mb::repository_id.eq(repo))
                        .filter(mb::manifest_id.ne(manifest_id))
                        .count()
                        .get_result(c)
                        .await?;
                    (SizeRow::Missing, others == 0)
                }
            };
            match size_write(row, SizeOperation::Add, only, repo_total) {
                SizeWrite::Nothing => {}
                SizeWrite::Insert(n) => {
                    diesel::insert_into(qrs::table)
                        .values((
                            qrs::repository_id.eq(repo),
                            qrs::size_bytes.eq(n),
                            qrs::backfill_start_ms.eq(Some(0i64)),
                            qrs::backfill_complete.eq(true),
                        ))
                        .on_conflict(qrs::repository_id)
                        .do_update()
                        .set(qrs::size_bytes.eq(qrs::size_bytes + n))
                        .execute(c)
                        .await?;
                }
                SizeWrite::Add(n) => {
                    diesel::update(qrs::table.filter(qrs::repository_id.eq(repo)))
                        .set(qrs::size_bytes.eq(qrs::size_bytes + n))
                        .execute(c)
                        .await?;
                }
                SizeWrite::Subtract(n) => {
                    diesel::update(qrs::table.filter(qrs::repository_id.eq(repo)))
                        .set(qrs::size_bytes.eq(qrs::size_bytes - n))
                        .execute(c)
                        .await?;
                }
            }
        }
    }};
}

/// The size accounting of a manifest row just created by `$id_expr` (evaluated first) under
/// `$quota` (`&QuotaPush`); evaluates to the manifest id.
macro_rules! account_new_manifest {
    ($c:expr, $quota:expr, $repo:expr, $id_expr:expr) => {{
        let manifest_id: i32 = $id_expr;
        let quota: &quay_ports::store::QuotaPush = $quota;
        match quota.accounting {
            quay_ports::store::SizeAccounting::Off => {}
            quay_ports::store::SizeAccounting::Invalidate => {
                $crate::stores::quota::invalidate_sizes!($c, $repo);
            }
            quay_ports::store::SizeAccounting::Track if quota.suppress_failures => {
                // Quay's `update_quota` under `FEATURE_QUOTA_SUPPRESS_FAILURES`: the failure is
                // logged and the push goes on; the savepoint keeps the transaction usable.
                let repo: i32 = $repo;
                let tracked: Result<(), diesel::result::Error> =
                    diesel_async::AsyncConnection::transaction(&mut *$c, async |c| {
                        $crate::stores::quota::track_added_manifest!(c, repo, manifest_id);
                        Ok(())
                    })
                    .await;
                if let Err(e) = tracked {
                    tracing::error!(quota.manifest_id = manifest_id, quota.repository_id = repo, error = %e, "quota size calculation failed; suppressed by FEATURE_QUOTA_SUPPRESS_FAILURES");
                }
            }
            quay_ports::store::SizeAccounting::Track => {
                $crate::stores::quota::track_added_manifest!($c, $repo, manifest_id);
            }
        }
        manifest_id
    }};
}

/// The limits check of a push after its size accounting (Quay's `verify_namespace_quota` in
/// `create_manifest_and_retarget_tag`): evaluates to `true` when the push is refused, after
/// giving a manifest `$created` by this push its expired hidden tag.
macro_rules! refuse_over_quota {
    ($c:expr, $quota:expr, $repo:expr, $manifest_id:expr, $created:expr) => {{
        let quota: &quay_ports::store::QuotaPush = $quota;
        let (repo, manifest_id, created): (i32, i32, bool) = ($repo, $manifest_id, $created);
        match &quota.verify {
            None => false,
            Some(verify) => {
                let usage = $crate::stores::quota::namespace_usage!($c, repo, false)?;
                let check = quay_domain::quota::check_limits(
                    usage.as_ref().and_then(|u| u.quota.as_ref()),
                    verify.default_reject_bytes,
                    usage.as_ref().map_or(0, |u| u.size_bytes),
                );
                if check.rejects() && created {
                    use $crate::schema::tag as t;
                    use $crate::stores::registry_schema::tagkind;
                    let kind: i32 = tagkind::table
                        .filter(tagkind::name.eq("tag"))
                        .select(tagkind::id)
                        .first(&mut *$c)
                        .await?;
                    let tag = &verify.reject_tag;
                    diesel::insert_into(t::table)
                        .values((
                            t::name.eq(tag.name.as_str()),
                            t::repository_id.eq(repo),
                            t::manifest_id.eq(Some(manifest_id)),
                            t::lifetime_start_ms.eq(tag.now_ms),
                            t::lifetime_end_ms.eq(tag.end_ms),
                            t::hidden.eq(true),
                            t::reversion.eq(false),
                            t::tag_kind_id.eq(kind),
                            t::linked_tag_id.eq(None::<i32>),
                        ))
                        .execute(&mut *$c)
                        .await?;
                }
                check.rejects()
            }
        }
    }};
}

pub(crate) use {
    account_new_manifest, invalidate_sizes, namespace_usage, refuse_over_quota,
    track_added_manifest, usage_of_namespace,
};
