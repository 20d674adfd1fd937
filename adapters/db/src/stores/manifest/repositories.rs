//! Repository rows of the registry: creation on push (Quay's `create_repository`) and the
//! `/v2/_catalog` listing (Quay's `get_visible_repositories`).

use chrono::Days;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::{
    Repository, RepositoryId, RepositoryKind, RepositoryState, Visibility,
};
use quay_ports::store::{ManifestStoreError, NewRepository};

use super::TxError;
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;
use crate::schema::{
    repository, repositorykind, repositorypermission, role, team, teammember, teamrole, user,
    visibility,
};
use crate::stores::key;
use crate::stores::registry_schema::{repositoryactioncount, repositorysearchscore};
use crate::stores::registry_sql::id_by_name;

pub(super) async fn create(
    db: &Database,
    new: &NewRepository,
) -> Result<Repository, ManifestStoreError> {
    let namespace_id = key(new.namespace_id.0)
        .ok_or_else(|| ManifestStoreError::MissingLookup("namespace".into()))?;
    let yesterday = new
        .now
        .date_naive()
        .checked_sub_days(Days::new(1))
        .unwrap_or_else(|| new.now.date_naive());
    let admin = new.admin.and_then(|a| key(a.0));
    let name = new.name.as_str();
    let mut conn = db.conn(Route::Primary).await?;
    let result: Result<(i32, String, i32), TxError> = db_write!(conn, |c| {
        let existing: Option<(i32, i32, i32)> = repository::table
            .filter(repository::namespace_user_id.eq(namespace_id))
            .filter(repository::name.eq(name))
            .select((repository::id, repository::visibility_id, repository::state))
            .first(c)
            .await
            .optional()?;
        if let Some((id, visibility_id, state)) = existing {
            let vis: String = visibility::table
                .filter(visibility::id.eq(visibility_id))
                .select(visibility::name)
                .first(c)
                .await?;
            return Ok((id, vis, state));
        }
        let vis = id_by_name!(c, visibility, new.visibility.as_str())?
            .ok_or_else(|| TxError::Lookup(format!("visibility {}", new.visibility)))?;
        let kind = id_by_name!(c, repositorykind, "image")?
            .ok_or_else(|| TxError::Lookup("repositorykind image".into()))?;
        let id: i32 = diesel::insert_into(repository::table)
            .values((
                repository::namespace_user_id.eq(Some(namespace_id)),
                repository::name.eq(name),
                repository::visibility_id.eq(vis),
                repository::description.eq(None::<String>),
                repository::badge_token.eq(new.badge_token.as_str()),
                repository::kind_id.eq(kind),
                repository::trust_enabled.eq(false),
                repository::state.eq(0),
            ))
            .returning(repository::id)
            .get_result(c)
            .await?;
        diesel::insert_into(repositoryactioncount::table)
            .values((
                repositoryactioncount::repository_id.eq(id),
                repositoryactioncount::count.eq(0),
                repositoryactioncount::date.eq(yesterday),
            ))
            .execute(c)
            .await?;
        diesel::insert_into(repositorysearchscore::table)
            .values((
                repositorysearchscore::repository_id.eq(id),
                repositorysearchscore::score.eq(0_i64),
                repositorysearchscore::last_updated.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(c)
            .await?;
        if let Some(user) = admin {
            let role_id = id_by_name!(c, role, "admin")?
                .ok_or_else(|| TxError::Lookup("role admin".into()))?;
            diesel::insert_into(repositorypermission::table)
                .values((
                    repositorypermission::team_id.eq(None::<i32>),
                    repositorypermission::user_id.eq(Some(user)),
                    repositorypermission::repository_id.eq(id),
                    repositorypermission::role_id.eq(role_id),
                ))
                .execute(c)
                .await?;
        }
        Ok((id, new.visibility.clone(), 0))
    });
    let (id, vis, state) = result.map_err(|e| e.into_port("creating a repository"))?;
    Ok(Repository {
        id: RepositoryId(i64::from(id)),
        namespace_id: new.namespace_id,
        namespace: new.namespace.clone(),
        name: new.name.clone(),
        visibility: Visibility::from_name(&vis).unwrap_or(Visibility::Private),
        kind: RepositoryKind::Image,
        state: RepositoryState::from_code(state).unwrap_or(RepositoryState::Normal),
        description: None,
        trust_enabled: false,
    })
}

pub(super) async fn catalog_page(
    db: &Database,
    account: Option<quay_domain::user::UserId>,
    include_public: bool,
    start_id: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, String)>, ManifestStoreError> {
    let account = account.and_then(|a| key(a.0));
    if account.is_none() && !include_public {
        return Ok(Vec::new());
    }
    let start = start_id.and_then(|s| i32::try_from(s).ok()).unwrap_or(0);
    let limit = i64::from(limit);
    let mut conn = db.conn(Route::Read).await?;
    let rows: Vec<(i32, String, String)> = db_run!(conn, |c| {
        async {
            let Some(image) = id_by_name!(c, repositorykind, "image")? else {
                return Ok::<_, diesel::result::Error>(Vec::new());
            };
            let public = id_by_name!(c, visibility, "public")?.unwrap_or(-1);
            let admin_role = id_by_name!(c, teamrole, "admin")?.unwrap_or(-1);
            let user_id = account.unwrap_or(-1);
            let mut query = repository::table
                .inner_join(user::table.on(user::id.nullable().eq(repository::namespace_user_id)))
                .filter(repository::state.ne(3))
                .filter(repository::kind_id.eq(image))
                .filter(repository::id.ge(start))
                .filter(
                    repository::id
                        .eq_any(
                            repositorypermission::table
                                .filter(repositorypermission::user_id.eq(user_id))
                                .select(repositorypermission::repository_id),
                        )
                        .or(repository::id.eq_any(
                            repositorypermission::table
                                .inner_join(
                                    teammember::table.on(teammember::team_id
                                        .nullable()
                                        .eq(repositorypermission::team_id)),
                                )
                                .filter(teammember::user_id.eq(user_id))
                                .select(repositorypermission::repository_id),
                        ))
                        .or(repository::namespace_user_id.eq_any(
                            team::table
                                .inner_join(teammember::table.on(teammember::team_id.eq(team::id)))
                                .filter(team::role_id.eq(admin_role))
                                .filter(teammember::user_id.eq(user_id))
                                .select(team::organization_id.nullable()),
                        ))
                        .or(repository::visibility_id.eq(public).and(diesel::dsl::sql::<
                            diesel::sql_types::Bool,
                        >(
                            if include_public { "1 = 1" } else { "1 = 0" },
                        ))),
                )
                .select((repository::id, user::username, repository::name))
                .order(repository::id.asc())
                .limit(limit)
                .into_boxed();
            if account.is_none() {
                query = query.filter(repository::visibility_id.eq(public));
            }
            query.load(c).await
        }
        .await
    })
    .map_err(|e| backend("listing the catalog", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, ns, name)| (i64::from(id), format!("{ns}/{name}")))
        .collect())
}
