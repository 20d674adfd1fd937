//! [`RepositoryStore`] on Quay's `repository` table, joined with its namespace, visibility and
//! kind (looked up by name, so no enum-table ids are hard-coded).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::name::{NamespaceName, RepositoryName, RepositoryNameRules};
use quay_domain::repository::{
    Repository, RepositoryId, RepositoryKind, RepositoryState, Visibility,
};
use quay_domain::user::UserId;
use quay_ports::store::{BackendError, Page, PageRequest, RepositoryStore, RepositoryStoreError};

use super::{fetch_limit, paginate};
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::{backend, corrupt};
use crate::schema::{repository, repositorykind, user, visibility};

pub(crate) struct DbRepositoryStore {
    pub(crate) db: Database,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = repository)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct RepositoryRow {
    id: i32,
    namespace_user_id: Option<i32>,
    name: String,
    description: Option<String>,
    trust_enabled: bool,
    state: i32,
}

/// A repository row with the names of its namespace, visibility and kind.
type JoinedRow = (RepositoryRow, String, String, String);

struct Joined(JoinedRow);

impl TryFrom<Joined> for Repository {
    type Error = BackendError;

    fn try_from(Joined((r, namespace, visibility, kind)): Joined) -> Result<Self, BackendError> {
        let bad = |what: &str| corrupt(format!("repository {}: {what}", r.id));
        Ok(Repository {
            id: RepositoryId(i64::from(r.id)),
            namespace_id: UserId(i64::from(
                r.namespace_user_id.ok_or_else(|| bad("no namespace"))?,
            )),
            namespace: NamespaceName::parse(&namespace)
                .map_err(|e| bad(&format!("namespace: {e}")))?,
            name: RepositoryName::parse(&r.name, RepositoryNameRules::Extended)
                .map_err(|e| bad(&format!("name: {e}")))?,
            visibility: Visibility::from_name(&visibility)
                .ok_or_else(|| bad("unknown visibility"))?,
            kind: RepositoryKind::from_name(&kind).ok_or_else(|| bad("unknown kind"))?,
            state: RepositoryState::from_code(r.state).ok_or_else(|| bad("unknown state"))?,
            description: r.description,
            trust_enabled: r.trust_enabled,
        })
    }
}

/// The joined query shared by the lookups: repository ⋈ namespace ⋈ visibility ⋈ kind.
macro_rules! joined {
    () => {
        repository::table
            .inner_join(user::table.on(repository::namespace_user_id.eq(user::id.nullable())))
            .inner_join(visibility::table.on(visibility::id.eq(repository::visibility_id)))
            .inner_join(repositorykind::table.on(repositorykind::id.eq(repository::kind_id)))
            .select((
                RepositoryRow::as_select(),
                user::username,
                visibility::name,
                repositorykind::name,
            ))
    };
}

#[async_trait]
impl RepositoryStore for DbRepositoryStore {
    async fn find_repository(
        &self,
        namespace: &NamespaceName,
        name: &RepositoryName,
    ) -> Result<Option<Repository>, RepositoryStoreError> {
        let mut conn = self.db.conn(Route::Read).await?;
        let (ns, name) = (namespace.as_str(), name.as_str());
        let row: Option<JoinedRow> = db_run!(conn, |c| {
            joined!()
                .filter(user::username.eq(ns))
                .filter(repository::name.eq(name))
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a repository", e))?;
        Ok(row.map(|r| Repository::try_from(Joined(r))).transpose()?)
    }

    async fn list_repositories(
        &self,
        namespace: &NamespaceName,
        page: PageRequest,
    ) -> Result<Page<Repository>, RepositoryStoreError> {
        let after = match &page.after {
            Some(c) if c.0.is_empty() => return Err(RepositoryStoreError::InvalidCursor),
            Some(c) => c.0.clone(),
            None => String::new(),
        };
        let (limit, fetch) = fetch_limit(&page);
        let ns = namespace.as_str();
        let after = after.as_str();
        let mut conn = self.db.conn(Route::Read).await?;
        let rows: Vec<JoinedRow> = db_run!(conn, |c| {
            joined!()
                .filter(user::username.eq(ns))
                .filter(repository::state.ne(RepositoryState::MarkedForDeletion.code()))
                .filter(repository::name.gt(after))
                .order(repository::name.asc())
                .limit(fetch)
                .load(c)
                .await
        })
        .map_err(|e| backend("listing repositories", e))?;
        let items = rows
            .into_iter()
            .map(|r| Repository::try_from(Joined(r)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paginate(items, limit, |r| r.name.as_str().to_owned()))
    }

    async fn mirror_robot(
        &self,
        repository: RepositoryId,
        state: RepositoryState,
    ) -> Result<Option<UserId>, RepositoryStoreError> {
        use super::policy_schema::{
            orgmirrorconfig, orgmirrorrepository, repomirrorconfig, repomirrorrule,
        };
        let Ok(repo) = i32::try_from(repository.0) else {
            return Ok(None);
        };
        if !matches!(state, RepositoryState::Mirror | RepositoryState::OrgMirror) {
            return Ok(None);
        }
        let mut conn = self.db.conn(Route::Primary).await?;
        let robot: Option<i32> =
            db_run!(conn, |c| {
                async {
                    if state == RepositoryState::Mirror {
                        repomirrorconfig::table
                            .inner_join(
                                repomirrorrule::table
                                    .on(repomirrorrule::id.eq(repomirrorconfig::root_rule_id)),
                            )
                            .filter(repomirrorconfig::repository_id.eq(repo))
                            .select(repomirrorconfig::internal_robot_id)
                            .first::<i32>(c)
                            .await
                            .optional()
                    } else {
                        orgmirrorrepository::table
                            .inner_join(orgmirrorconfig::table.on(
                                orgmirrorconfig::id.eq(orgmirrorrepository::org_mirror_config_id),
                            ))
                            .filter(orgmirrorrepository::repository_id.eq(Some(repo)))
                            .select(orgmirrorconfig::internal_robot_id)
                            .first::<i32>(c)
                            .await
                            .optional()
                    }
                }
                .await
            })
            .map_err(|e| backend("looking up a mirror robot", e))?;
        Ok(robot.map(|id| UserId(i64::from(id))))
    }
}
