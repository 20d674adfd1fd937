//! [`CredentialStore`] on Quay's `user`, `robotaccounttoken`, `team`/`teammember`/`teamrole`
//! and `appspecificauthtoken` tables.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::permission::{Role, TeamRole};
use quay_domain::repository::RepositoryId;
use quay_domain::user::{Account, UserId};
use quay_ports::store::{
    AppSpecificToken, CredentialStore, CredentialStoreError, OAuthAccessToken,
    RepositoryAccessToken,
};

use super::user::UserRow;
use super::{key, naive, utc};
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::{backend, corrupt};
use crate::schema::{robotaccounttoken, role, team, teammember, teamrole, user};

// Only this store reads app-specific tokens, so the table is described here.
diesel::table! {
    appspecificauthtoken (id) {
        id -> Integer,
        user_id -> Integer,
        uuid -> Varchar,
        title -> Varchar,
        created -> Timestamp,
        expiration -> Nullable<Timestamp>,
        last_accessed -> Nullable<Timestamp>,
        token_name -> Varchar,
        token_secret -> Varchar,
    }
}

diesel::table! {
    accesstoken (id) {
        id -> Integer,
        friendly_name -> Nullable<Varchar>,
        repository_id -> Integer,
        created -> Timestamp,
        role_id -> Integer,
        temporary -> Bool,
        kind_id -> Nullable<Integer>,
        token_code -> Varchar,
        token_name -> Varchar,
    }
}

diesel::table! {
    oauthaccesstoken (id) {
        id -> Integer,
        uuid -> Varchar,
        application_id -> Integer,
        authorized_user_id -> Integer,
        scope -> Varchar,
        token_type -> Varchar,
        expires_at -> Timestamp,
        data -> Text,
        token_code -> Varchar,
        token_name -> Varchar,
        last_accessed -> Nullable<Timestamp>,
    }
}

diesel::joinable!(accesstoken -> role (role_id));
diesel::allow_tables_to_appear_in_same_query!(accesstoken, role);

pub(crate) struct DbCredentialStore {
    pub(crate) db: Database,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = appspecificauthtoken)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct AppTokenRow {
    id: i32,
    user_id: i32,
    uuid: String,
    title: String,
    expiration: Option<NaiveDateTime>,
    token_name: String,
    token_secret: String,
}

impl From<AppTokenRow> for AppSpecificToken {
    fn from(r: AppTokenRow) -> Self {
        AppSpecificToken {
            id: i64::from(r.id),
            uuid: r.uuid,
            user_id: UserId(i64::from(r.user_id)),
            title: r.title,
            token_name: r.token_name,
            encrypted_secret: r.token_secret,
            expiration: r.expiration.map(utc),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oauthaccesstoken)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct OAuthRow {
    id: i32,
    uuid: String,
    authorized_user_id: i32,
    scope: String,
    expires_at: NaiveDateTime,
    token_code: String,
    token_name: String,
}

fn no_row<T>() -> Result<Option<T>, CredentialStoreError> {
    Ok(None)
}

#[async_trait]
impl CredentialStore for DbCredentialStore {
    async fn find_login_account(
        &self,
        name: &str,
    ) -> Result<Option<Account>, CredentialStoreError> {
        let mut conn = self.db.conn(Route::Primary).await?;
        let row: Option<UserRow> = db_run!(conn, |c| {
            user::table
                .filter(
                    user::username
                        .eq(name)
                        .or(user::email.eq(name).and(user::organization.eq(false))),
                )
                .order(user::id.asc())
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a login", e))?;
        Ok(row.map(Account::from))
    }

    async fn find_account(&self, id: UserId) -> Result<Option<Account>, CredentialStoreError> {
        let Some(id) = key(id.0) else {
            return no_row();
        };
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<UserRow> = db_run!(conn, |c| {
            user::table
                .filter(user::id.eq(id))
                .select(UserRow::as_select())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up an account by id", e))?;
        Ok(row.map(Account::from))
    }

    async fn record_failed_login(
        &self,
        account: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        let Some(id) = key(account.0) else {
            return Ok(());
        };
        let at = naive(at);
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::update(user::table.filter(user::id.eq(id)))
                .set((
                    user::invalid_login_attempts.eq(user::invalid_login_attempts + 1),
                    user::last_invalid_login.eq(at),
                ))
                .execute(c)
                .await
        })
        .map_err(|e| backend("recording a failed login", e))?;
        Ok(())
    }

    async fn clear_failed_logins(
        &self,
        account: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        let Some(id) = key(account.0) else {
            return Ok(());
        };
        let at = naive(at);
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::update(user::table.filter(user::id.eq(id)))
                .set((
                    user::invalid_login_attempts.eq(0),
                    user::last_accessed.eq(Some(at)),
                ))
                .execute(c)
                .await
        })
        .map_err(|e| backend("clearing failed logins", e))?;
        Ok(())
    }

    async fn touch_account(
        &self,
        account: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        let Some(id) = key(account.0) else {
            return Ok(());
        };
        let at = naive(at);
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::update(user::table.filter(user::id.eq(id)))
                .set(user::last_accessed.eq(Some(at)))
                .execute(c)
                .await
        })
        .map_err(|e| backend("updating last_accessed", e))?;
        Ok(())
    }

    async fn robot_token(&self, robot: UserId) -> Result<Option<String>, CredentialStoreError> {
        let Some(id) = key(robot.0) else {
            return no_row();
        };
        let mut conn = self.db.conn(Route::Read).await?;
        let token: Option<String> = db_run!(conn, |c| {
            robotaccounttoken::table
                .filter(robotaccounttoken::robot_account_id.eq(id))
                .select(robotaccounttoken::token)
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("reading a robot token", e))?;
        Ok(token)
    }

    async fn namespace_team_roles(
        &self,
        account: UserId,
        namespace: UserId,
    ) -> Result<Vec<TeamRole>, CredentialStoreError> {
        let (Some(uid), Some(org)) = (key(account.0), key(namespace.0)) else {
            return Ok(Vec::new());
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let names: Vec<String> = db_run!(conn, |c| {
            team::table
                .inner_join(teamrole::table.on(teamrole::id.eq(team::role_id)))
                .inner_join(teammember::table.on(teammember::team_id.eq(team::id)))
                .filter(teammember::user_id.eq(uid))
                .filter(team::organization_id.eq(org))
                .select(teamrole::name)
                .load::<String>(c)
                .await
        })
        .map_err(|e| backend("reading team roles", e))?;
        names
            .iter()
            .map(|n| {
                TeamRole::from_name(n).ok_or_else(|| {
                    CredentialStoreError::from(corrupt(format!("unknown team role `{n}`")))
                })
            })
            .collect()
    }

    async fn find_app_token(
        &self,
        token_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AppSpecificToken>, CredentialStoreError> {
        let now = naive(now);
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<AppTokenRow> = db_run!(conn, |c| {
            appspecificauthtoken::table
                .filter(appspecificauthtoken::token_name.eq(token_name))
                .filter(
                    appspecificauthtoken::expiration
                        .is_null()
                        .or(appspecificauthtoken::expiration.gt(now)),
                )
                .select(AppTokenRow::as_select())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up an app-specific token", e))?;
        Ok(row.map(AppSpecificToken::from))
    }

    async fn touch_app_token(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        let Some(id) = key(id) else {
            return Ok(());
        };
        let at = naive(at);
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::update(appspecificauthtoken::table.filter(appspecificauthtoken::id.eq(id)))
                .set(appspecificauthtoken::last_accessed.eq(Some(at)))
                .execute(c)
                .await
        })
        .map_err(|e| backend("updating an app-specific token", e))?;
        Ok(())
    }

    async fn find_access_token(
        &self,
        token_name: &str,
    ) -> Result<Option<RepositoryAccessToken>, CredentialStoreError> {
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<(i32, i32, String, String, String)> = db_run!(conn, |c| {
            accesstoken::table
                .inner_join(role::table)
                .filter(accesstoken::token_name.eq(token_name))
                .select((
                    accesstoken::id,
                    accesstoken::repository_id,
                    role::name,
                    accesstoken::token_name,
                    accesstoken::token_code,
                ))
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up an access token", e))?;
        let Some((id, repository_id, role_name, token_name, encrypted_code)) = row else {
            return no_row();
        };
        let role = Role::from_name(&role_name).ok_or_else(|| {
            CredentialStoreError::from(corrupt(format!("unknown role `{role_name}`")))
        })?;
        Ok(Some(RepositoryAccessToken {
            id: i64::from(id),
            repository_id: RepositoryId(i64::from(repository_id)),
            role,
            token_name,
            encrypted_code,
        }))
    }

    async fn find_oauth_token(
        &self,
        token_name: &str,
    ) -> Result<Option<OAuthAccessToken>, CredentialStoreError> {
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<OAuthRow> = db_run!(conn, |c| {
            oauthaccesstoken::table
                .filter(oauthaccesstoken::token_name.eq(token_name))
                .select(OAuthRow::as_select())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up an OAuth token", e))?;
        Ok(row.map(|r| OAuthAccessToken {
            id: i64::from(r.id),
            uuid: r.uuid,
            authorized_user: UserId(i64::from(r.authorized_user_id)),
            scope: r.scope,
            expires_at: utc(r.expires_at),
            token_name: r.token_name,
            code_hash: r.token_code,
        }))
    }

    async fn touch_oauth_token(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        let Some(id) = key(id) else {
            return Ok(());
        };
        let at = naive(at);
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::update(oauthaccesstoken::table.filter(oauthaccesstoken::id.eq(id)))
                .set(oauthaccesstoken::last_accessed.eq(Some(at)))
                .execute(c)
                .await
        })
        .map_err(|e| backend("updating an OAuth token", e))?;
        Ok(())
    }
}
