//! Cosign sibling tags (Quay's `_expire_cosign_sibling_tags` in `data/model/oci/tag.py`): when a
//! tag leaves a manifest (retarget or delete), the tags cosign names after that manifest
//! (`sha256-<hex>.sig`, `.att`, `.sbom`) are expired with it, since autoprune never touches
//! such names and they would otherwise stay forever.
//!
//! Expanded inside a write transaction that holds the `retarget_tag:<repo id>` advisory lock
//! (PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers), so the "no other tag keeps the
//! manifest" check cannot race a push adding a tag to it.

/// Closes the live (at `$now_ms`), mutable tags of repository `$repo` named after `$digest`'s
/// cosign siblings, hidden ones included. With `$subject: Option<i32>` set, nothing is closed
/// while another live, visible, non-cosign tag (other than `$exclude: Option<i32>`) points at
/// that manifest. Each closed row gets a distinct end at or before `$now_ms`, stepping down past
/// ends already used by a row of the same name (the unique `(repository, name,
/// lifetime_end_ms)` index). Evaluates to the number of rows closed; propagates
/// `diesel::result::Error` with `?`.
macro_rules! expire_cosign_siblings {
    ($c:expr, $repo:expr, $digest:expr, $now_ms:expr, $subject:expr, $exclude:expr) => {{
        use $crate::schema::tag as t;
        let c = &mut *$c;
        let repo: i32 = $repo;
        let now_ms: i64 = $now_ms;
        let subject: Option<i32> = $subject;
        let exclude: Option<i32> = $exclude;
        let names = ::quay_domain::tag::cosign_sibling_names($digest);
        let kept = match subject {
            None => false,
            Some(m) => {
                let others: Vec<(i32, String)> = t::table
                    .filter(t::repository_id.eq(repo))
                    .filter(t::manifest_id.eq(m))
                    .filter(t::hidden.eq(false))
                    .filter(
                        t::lifetime_end_ms
                            .is_null()
                            .or(t::lifetime_end_ms.gt(now_ms)),
                    )
                    .select((t::id, t::name))
                    .load(c)
                    .await?;
                others.iter().any(|(id, name)| {
                    Some(*id) != exclude && !::quay_domain::tag::is_cosign_tag_schema(name)
                })
            }
        };
        let mut closed = 0_usize;
        if !kept {
            let siblings: Vec<(i32, String)> = t::table
                .filter(t::repository_id.eq(repo))
                .filter(t::name.eq_any(&names))
                .filter(t::immutable.eq(false))
                .filter(
                    t::lifetime_end_ms
                        .is_null()
                        .or(t::lifetime_end_ms.gt(now_ms)),
                )
                .order(t::id.asc())
                .select((t::id, t::name))
                .load(c)
                .await?;
            // One step counter across all rows, as Quay keeps it.
            let mut step = 0_i64;
            for (id, name) in siblings {
                let end = loop {
                    let candidate = now_ms - step;
                    let used: i64 = t::table
                        .filter(t::repository_id.eq(repo))
                        .filter(t::name.eq(name.as_str()))
                        .filter(t::lifetime_end_ms.eq(candidate))
                        .filter(t::id.ne(id))
                        .count()
                        .get_result(c)
                        .await?;
                    if used == 0 {
                        break candidate;
                    }
                    step += 1;
                };
                closed += diesel::update(t::table.filter(t::id.eq(id)))
                    .set(t::lifetime_end_ms.eq(Some(end)))
                    .execute(c)
                    .await?;
                step += 1;
            }
        }
        closed
    }};
}

pub(super) use expire_cosign_siblings;
