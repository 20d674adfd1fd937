//! The write steps of a manifest push, as macros expanded inside the push transaction of
//! [`super::DbManifestStore::commit_manifest_push`] (each type-checked once per backend; names
//! resolve where they expand).

/// Inserts a new manifest with its blob and child links; evaluates to its id. Fails with
/// `TxError::UnknownBlob`/`UnknownChild`/`Lookup`.
macro_rules! insert_manifest {
    ($c:expr, $push:expr, $repo:expr, $now:expr) => {{
        let (c, push, repo, now) = (&mut *$c, $push, $repo, $now);
        let media_type = id_by_name!(c, mediatype, push.media_type.as_str())?
            .ok_or_else(|| TxError::Lookup(push.media_type.clone()))?;
        let mut blob_ids = Vec::with_capacity(push.blob_digests.len());
        for digest in &push.blob_digests {
            let id = visible_blob_id!(c, repo, digest.as_str(), now)?
                .ok_or_else(|| TxError::UnknownBlob(digest.clone()))?;
            blob_ids.push(id);
        }
        blob_ids.sort_unstable();
        blob_ids.dedup();
        let mut child_ids: Vec<i32> = Vec::new();
        for digest in &push.child_digests {
            let id: Option<i32> = manifest::table
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(digest.as_str()))
                .select(manifest::id)
                .first(c)
                .await
                .optional()?;
            match id {
                Some(id) if !child_ids.contains(&id) => child_ids.push(id),
                Some(_) => {}
                None if push.optional_children.contains(digest) => {}
                None => return Err(TxError::UnknownChild(digest.clone())),
            }
        }
        let id: i32 = diesel::insert_into(manifest::table)
            .values((
                manifest::repository_id.eq(repo),
                manifest::digest.eq(push.digest.as_str()),
                manifest::media_type_id.eq(media_type),
                manifest::manifest_bytes.eq(push.bytes.as_str()),
                manifest::config_media_type.eq(push.config_media_type.as_deref()),
                manifest::layers_compressed_size.eq(push.layers_compressed_size),
                manifest::subject.eq(push.subject.as_deref()),
                manifest::subject_backfilled.eq(Some(true)),
                manifest::artifact_type.eq(push.artifact_type.as_deref()),
                manifest::artifact_type_backfilled.eq(Some(true)),
            ))
            .returning(manifest::id)
            .get_result(c)
            .await?;
        for blob in blob_ids {
            diesel::insert_into(manifestblob::table)
                .values((
                    manifestblob::repository_id.eq(repo),
                    manifestblob::manifest_id.eq(id),
                    manifestblob::blob_id.eq(blob),
                ))
                .execute(c)
                .await?;
        }
        for child in child_ids {
            diesel::insert_into(manifestchild::table)
                .values((
                    manifestchild::repository_id.eq(repo),
                    manifestchild::manifest_id.eq(id),
                    manifestchild::child_manifest_id.eq(child),
                ))
                .execute(c)
                .await?;
        }
        // Quay's `_create_manifest`: every new manifest waits for the security indexer
        // (`IndexStatus.PENDING` = 0, `IndexerVersion.V4` = 4, JSON fields as `json.dumps({})`).
        diesel::insert_into(manifestsecuritystatus::table)
            .values((
                manifestsecuritystatus::manifest_id.eq(id),
                manifestsecuritystatus::repository_id.eq(repo),
                manifestsecuritystatus::index_status.eq(0),
                manifestsecuritystatus::error_json.eq("{}"),
                manifestsecuritystatus::last_indexed.eq(now),
                manifestsecuritystatus::indexer_hash.eq(""),
                manifestsecuritystatus::indexer_version.eq(4),
                manifestsecuritystatus::metadata_json.eq("{}"),
            ))
            .execute(c)
            .await?;
        if !push.labels.is_empty() {
            let source = id_by_name!(c, labelsourcetype, "manifest")?
                .ok_or_else(|| TxError::Lookup("labelsourcetype manifest".into()))?;
            for l in &push.labels {
                let media = id_by_name!(c, mediatype, l.media_type.as_str())?
                    .ok_or_else(|| TxError::Lookup(l.media_type.clone()))?;
                let label_id: i32 = diesel::insert_into(label::table)
                    .values((
                        label::uuid.eq(l.uuid.as_str()),
                        label::key.eq(l.key.as_str()),
                        label::value.eq(l.value.as_str()),
                        label::media_type_id.eq(media),
                        label::source_type_id.eq(source),
                    ))
                    .returning(label::id)
                    .get_result(c)
                    .await?;
                diesel::insert_into(manifestlabel::table)
                    .values((
                        manifestlabel::repository_id.eq(repo),
                        manifestlabel::manifest_id.eq(id),
                        manifestlabel::label_id.eq(label_id),
                    ))
                    .execute(c)
                    .await?;
            }
        }
        id
    }};
}

/// Whether an immutability policy of repository `$repo` or, failing that, of its namespace
/// makes tag `$name` immutable (Quay's `evaluate_immutability_policies`), read in the
/// transaction; propagates `diesel::result::Error` with `?`. Rows without a usable pattern never
/// apply.
macro_rules! immutable_by_policy {
    ($c:expr, $repo:expr, $name:expr) => {{
        use ::quay_domain::immutability::{ImmutabilityPolicy, immutable_by_policy};
        use $crate::schema::repository;
        use $crate::stores::policy_schema::{
            namespaceimmutabilitypolicy as nsp, repositoryimmutabilitypolicy as rp,
        };
        let (c, repo, name): (_, i32, &str) = (&mut *$c, $repo, $name);
        let parse = |rows: Vec<String>| -> Vec<ImmutabilityPolicy> {
            rows.iter()
                .filter_map(|p| ImmutabilityPolicy::from_json(p))
                .collect()
        };
        let own: Vec<String> = rp::table
            .filter(rp::repository_id.eq(repo))
            .order(rp::id.asc())
            .select(rp::policy)
            .load(c)
            .await?;
        if immutable_by_policy(&parse(own), name) {
            true
        } else {
            let namespace: Option<i32> = repository::table
                .filter(repository::id.eq(repo))
                .select(repository::namespace_user_id)
                .first(c)
                .await?;
            match namespace {
                Some(ns) => {
                    let rows: Vec<String> = nsp::table
                        .filter(nsp::namespace_id.eq(ns))
                        .order(nsp::id.asc())
                        .select(nsp::policy)
                        .load(c)
                        .await?;
                    immutable_by_policy(&parse(rows), name)
                }
                None => false,
            }
        }
    }};
}

/// Moves the tag or adds the temporary tag of a push, as Quay's `retarget_tag` does under its
/// lock: refuse an immutable live tag, close it (dropping its `tagnotificationsuccess` rows),
/// expire the cosign siblings of the manifest it leaves ([`super::cosign`]), apply the
/// immutability policies, insert the new row. Evaluates to `None`, writing nothing, when the
/// live tag is immutable and `refuse_immutable` is set (the manifest stays, untagged, as Quay
/// leaves it); otherwise to `Some(by_policy)`, whether a policy made the new row immutable.
macro_rules! write_tags {
    ($c:expr, $push:expr, $repo:expr, $manifest_id:expr) => {{
        let (c, push, repo, manifest_id) = (&mut *$c, $push, $repo, $manifest_id);
        let tag_kind = if push.tag.is_some() || push.temp_tag.is_some() {
            id_by_name!(c, tagkind, "tag")?.ok_or_else(|| TxError::Lookup("tagkind tag".into()))?
        } else {
            0
        };
        let mut written = true;
        if let Some(t) = &push.tag
            && let Some((old, _)) = live_tag!(c, repo, t.name.as_str(), t.now_ms)?
            && t.refuse_immutable
        {
            let immutable: bool = tag::table
                .filter(tag::id.eq(old))
                .select(tag::immutable)
                .first(c)
                .await?;
            written = !immutable;
        }
        let mut by_policy = false;
        if let Some(t) = push.tag.as_ref().filter(|_| written) {
            if let Some((old, displaced)) = live_tag!(c, repo, t.name.as_str(), t.now_ms)? {
                // Quay's `retarget_tag`: the displaced tag's expiry notifications go with it
                // (`delete_tag_notifications_for_tag`; no pull statistics or child reset here).
                {
                    use $crate::stores::policy_schema::tagnotificationsuccess as tns;
                    diesel::delete(tns::table.filter(tns::tag_id.eq(old)))
                        .execute(c)
                        .await?;
                }
                diesel::update(tag::table.filter(tag::id.eq(old)))
                    .set(tag::lifetime_end_ms.eq(Some(t.now_ms)))
                    .execute(c)
                    .await?;
                if let Some(m) = displaced
                    && m != manifest_id
                    && !::quay_domain::tag::is_cosign_tag_schema(&t.name)
                {
                    let digest: String = manifest::table
                        .filter(manifest::id.eq(m))
                        .select(manifest::digest)
                        .first(c)
                        .await?;
                    expire_cosign_siblings!(c, repo, digest.as_str(), t.now_ms, Some(m), Some(old));
                }
            }
            by_policy = match &t.policy_audit {
                Some(_) => immutable_by_policy!(c, repo, t.name.as_str()),
                None => false,
            };
            let keeps_expiry = t
                .policy_audit
                .as_ref()
                .is_none_or(|p| p.immutable_can_expire);
            let end_ms = if by_policy && !keeps_expiry {
                None
            } else {
                t.end_ms
            };
            diesel::insert_into(tag::table)
                .values((
                    tag::name.eq(t.name.as_str()),
                    tag::repository_id.eq(repo),
                    tag::manifest_id.eq(Some(manifest_id)),
                    tag::lifetime_start_ms.eq(t.now_ms),
                    tag::lifetime_end_ms.eq(end_ms),
                    tag::hidden.eq(false),
                    tag::reversion.eq(false),
                    tag::tag_kind_id.eq(tag_kind),
                    tag::linked_tag_id.eq(None::<i32>),
                    tag::immutable.eq(t.immutable || by_policy),
                ))
                .execute(c)
                .await?;
        }
        if let Some(t) = &push.temp_tag {
            let keeps = tag::table
                .filter(tag::manifest_id.eq(manifest_id))
                .filter(tag::lifetime_end_ms.is_null());
            let kept: i64 = match t.end_ms {
                None => keeps.count().get_result(c).await?,
                Some(end) => {
                    tag::table
                        .filter(tag::manifest_id.eq(manifest_id))
                        .filter(
                            tag::lifetime_end_ms
                                .is_null()
                                .or(tag::lifetime_end_ms.ge(end)),
                        )
                        .count()
                        .get_result(c)
                        .await?
                }
            };
            if kept == 0 {
                diesel::insert_into(tag::table)
                    .values((
                        tag::name.eq(t.name.as_str()),
                        tag::repository_id.eq(repo),
                        tag::manifest_id.eq(Some(manifest_id)),
                        tag::lifetime_start_ms.eq(t.now_ms),
                        tag::lifetime_end_ms.eq(t.end_ms),
                        tag::hidden.eq(true),
                        tag::reversion.eq(false),
                        tag::tag_kind_id.eq(tag_kind),
                        tag::linked_tag_id.eq(None::<i32>),
                    ))
                    .execute(c)
                    .await?;
            }
        }
        written.then_some(by_policy)
    }};
}

pub(super) use {immutable_by_policy, insert_manifest, write_tags};
