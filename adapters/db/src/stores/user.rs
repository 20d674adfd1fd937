//! [`UserStore`] on Quay's `user` table.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::name::{NamespaceName, RobotName};
use quay_domain::user::{Account, AccountKind, PasswordHash, UserId};
use quay_ports::store::{NewOrganization, NewUser, UserStore, UserStoreError};

use super::{naive, utc};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::{backend, is_unique_violation_on};
use crate::schema::{deletednamespace, team, teammember, teamrole, user};

/// Inside a `db_write!` body (compiled once per backend): `UsernameTaken` when the name belongs
/// to an account or to a deleted namespace.
macro_rules! ensure_name_free {
    ($c:expr, $name:expr) => {{
        let taken: i64 = user::table
            .filter(user::username.eq($name))
            .count()
            .get_result($c)
            .await?;
        let deleted: i64 = deletednamespace::table
            .filter(deletednamespace::original_username.eq($name))
            .count()
            .get_result($c)
            .await?;
        if taken > 0 || deleted > 0 {
            return Err(CreateError::UsernameTaken);
        }
    }};
}

/// Inside a `db_write!` body: `EmailTaken` when a user (not an organization) has the e-mail.
macro_rules! ensure_email_free {
    ($c:expr, $email:expr) => {{
        let used: i64 = user::table
            .filter(user::email.eq($email))
            .filter(user::organization.eq(false))
            .count()
            .get_result($c)
            .await?;
        if used > 0 {
            return Err(CreateError::EmailTaken);
        }
    }};
}

pub(crate) struct DbUserStore {
    pub(crate) db: Database,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = user)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct UserRow {
    id: i32,
    uuid: Option<String>,
    username: String,
    password_hash: Option<String>,
    email: String,
    verified: bool,
    organization: bool,
    robot: bool,
    invalid_login_attempts: i32,
    last_invalid_login: NaiveDateTime,
    removed_tag_expiration_s: i64,
    enabled: bool,
    maximum_queued_builds_count: Option<i32>,
    creation_date: Option<NaiveDateTime>,
    last_accessed: Option<NaiveDateTime>,
}

impl From<UserRow> for Account {
    fn from(r: UserRow) -> Self {
        let kind = if r.robot {
            AccountKind::Robot
        } else if r.organization {
            AccountKind::Organization
        } else {
            AccountKind::User
        };
        Account {
            id: UserId(i64::from(r.id)),
            uuid: r.uuid,
            username: r.username,
            email: r.email,
            password_hash: r.password_hash.map(PasswordHash::new),
            kind,
            verified: r.verified,
            enabled: r.enabled,
            invalid_login_attempts: r.invalid_login_attempts,
            last_invalid_login: utc(r.last_invalid_login),
            removed_tag_expiration_s: r.removed_tag_expiration_s,
            maximum_queued_builds_count: r.maximum_queued_builds_count,
            creation_date: r.creation_date.map(utc),
            last_accessed: r.last_accessed.map(utc),
        }
    }
}

/// The columns Python Quay's `User.create` fills for a new database user; the others
/// (`stripe_id`, `invoice_email_address`, `given_name`, `family_name`, `company`, `location`)
/// stay NULL as in Python.
#[derive(Insertable)]
#[diesel(table_name = user)]
struct NewUserRow<'a> {
    uuid: Option<String>,
    username: &'a str,
    password_hash: Option<&'a str>,
    email: &'a str,
    verified: bool,
    organization: bool,
    robot: bool,
    invoice_email: bool,
    invalid_login_attempts: i32,
    last_invalid_login: NaiveDateTime,
    removed_tag_expiration_s: i64,
    enabled: bool,
    maximum_queued_builds_count: Option<i32>,
    creation_date: Option<NaiveDateTime>,
}

/// Outcome of the create transaction besides success.
enum CreateError {
    UsernameTaken,
    EmailTaken,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl DbUserStore {
    async fn find(
        &self,
        username: &str,
        kind: Option<bool>,
    ) -> Result<Option<Account>, UserStoreError> {
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<UserRow> = db_run!(conn, |c| {
            let q = user::table
                .filter(user::username.eq(username))
                .select(UserRow::as_select());
            match kind {
                Some(robot) => q.filter(user::robot.eq(robot)).first(c).await.optional(),
                None => q.first(c).await.optional(),
            }
        })
        .map_err(|e| backend("looking up an account by username", e))?;
        Ok(row.map(Account::from))
    }
}

#[async_trait]
impl UserStore for DbUserStore {
    async fn find_by_username(&self, username: &str) -> Result<Option<Account>, UserStoreError> {
        self.find(username, None).await
    }

    async fn find_namespace(
        &self,
        name: &NamespaceName,
    ) -> Result<Option<Account>, UserStoreError> {
        self.find(name.as_str(), Some(false)).await
    }

    async fn find_robot(&self, name: &RobotName) -> Result<Option<Account>, UserStoreError> {
        self.find(&name.username(), Some(true)).await
    }

    async fn create_user(&self, new: NewUser) -> Result<Account, UserStoreError> {
        let now = naive(new.created_at);
        let row = NewUserRow {
            uuid: Some(uuid::Uuid::new_v4().to_string()),
            username: new.username.as_str(),
            password_hash: new.password_hash.as_ref().map(PasswordHash::expose),
            email: new.email.as_str(),
            verified: new.verified,
            organization: false,
            robot: false,
            invoice_email: false,
            invalid_login_attempts: 0,
            last_invalid_login: now,
            removed_tag_expiration_s: new.removed_tag_expiration_s,
            enabled: true,
            maximum_queued_builds_count: new.maximum_queued_builds_count,
            creation_date: Some(now),
        };
        let row = &row;
        let mut conn = self.db.conn(Route::Primary).await?;
        let created: Result<UserRow, CreateError> = db_write!(conn, |c| {
            ensure_name_free!(c, row.username);
            ensure_email_free!(c, row.email);
            let created = diesel::insert_into(user::table)
                .values(row)
                .returning(UserRow::as_returning())
                .get_result(c)
                .await?;
            Ok(created)
        });
        match created {
            Ok(r) => Ok(r.into()),
            Err(CreateError::UsernameTaken) => {
                Err(UserStoreError::UsernameTaken(row.username.to_owned()))
            }
            Err(CreateError::EmailTaken) => Err(UserStoreError::EmailTaken),
            // A concurrent creation on PostgreSQL can pass the checks and hit the indexes.
            Err(CreateError::Db(e)) if is_unique_violation_on(&e, "username") => {
                Err(UserStoreError::UsernameTaken(row.username.to_owned()))
            }
            Err(CreateError::Db(e)) if is_unique_violation_on(&e, "email") => {
                Err(UserStoreError::EmailTaken)
            }
            Err(CreateError::Db(e)) => Err(backend("creating a user", e).into()),
        }
    }

    async fn create_organization(&self, new: NewOrganization) -> Result<Account, UserStoreError> {
        let now = naive(new.created_at);
        // Quay inserts the row with a uuid4 e-mail, then sets `organization` and the real
        // e-mail; the row ends the same with one insert.
        let email = new
            .email
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let row = NewUserRow {
            uuid: Some(uuid::Uuid::new_v4().to_string()),
            username: new.name.as_str(),
            password_hash: None,
            email: &email,
            verified: false,
            organization: true,
            robot: false,
            invoice_email: false,
            invalid_login_attempts: 0,
            last_invalid_login: now,
            removed_tag_expiration_s: new.removed_tag_expiration_s,
            enabled: true,
            maximum_queued_builds_count: new.maximum_queued_builds_count,
            creation_date: Some(now),
        };
        let row = &row;
        let check_email = new.email.is_some() && new.email_must_be_unused;
        // Ids out of `i32` do not exist: the member insert then fails its foreign key.
        let creator = i32::try_from(new.creator.0).unwrap_or(i32::MAX);
        let mut conn = self.db.conn(Route::Primary).await?;
        let created: Result<UserRow, CreateError> = db_write!(conn, |c| {
            if check_email {
                ensure_email_free!(c, row.email);
            }
            ensure_name_free!(c, row.username);
            let admin_role: i32 = teamrole::table
                .filter(teamrole::name.eq("admin"))
                .select(teamrole::id)
                .first(c)
                .await?;
            let org = diesel::insert_into(user::table)
                .values(row)
                .returning(UserRow::as_returning())
                .get_result(c)
                .await?;
            let owners: i32 = diesel::insert_into(team::table)
                .values((
                    team::name.eq("owners"),
                    team::organization_id.eq(org.id),
                    team::role_id.eq(admin_role),
                    team::description.eq(""),
                ))
                .returning(team::id)
                .get_result(c)
                .await?;
            diesel::insert_into(teammember::table)
                .values((
                    teammember::user_id.eq(creator),
                    teammember::team_id.eq(owners),
                ))
                .execute(c)
                .await?;
            Ok(org)
        });
        match created {
            Ok(r) => Ok(r.into()),
            Err(CreateError::UsernameTaken) => {
                Err(UserStoreError::UsernameTaken(row.username.to_owned()))
            }
            Err(CreateError::EmailTaken) => Err(UserStoreError::EmailTaken),
            Err(CreateError::Db(e)) if is_unique_violation_on(&e, "username") => {
                Err(UserStoreError::UsernameTaken(row.username.to_owned()))
            }
            Err(CreateError::Db(e)) => Err(backend("creating an organization", e).into()),
        }
    }

    async fn user_count(&self) -> Result<u64, UserStoreError> {
        let mut conn = self.db.conn(Route::Read).await?;
        let n: i64 = db_run!(conn, |c| {
            user::table
                .filter(user::organization.eq(false))
                .filter(user::robot.eq(false))
                .filter(
                    user::id.ne_all(deletednamespace::table.select(deletednamespace::namespace_id)),
                )
                .count()
                .get_result(c)
                .await
        })
        .map_err(|e| backend("counting users", e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
