//! [`PermissionStore`] on Quay's `repositorypermission`, `team`, `teammember`, `role` and
//! `teamrole` tables (Quay's `_get_user_repo_permissions` and `get_org_wide_permissions`).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::permission::{RepositoryGrants, Role, TeamRole};
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{Consistency, PermissionStore, PermissionStoreError};

use super::key;
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::{backend, corrupt};
use crate::schema::{repository, repositorypermission, role, team, teammember, teamrole, user};

pub(crate) struct DbPermissionStore {
    pub(crate) db: Database,
}

#[async_trait]
impl PermissionStore for DbPermissionStore {
    async fn repository_grants(
        &self,
        account: UserId,
        repository: RepositoryId,
        consistency: Consistency,
    ) -> Result<RepositoryGrants, PermissionStoreError> {
        let (Some(uid), Some(repo)) = (key(account.0), key(repository.0)) else {
            return Ok(RepositoryGrants::default());
        };
        let route = match consistency {
            Consistency::Primary => Route::Primary,
            Consistency::AllowReplica => Route::Read,
        };
        let mut conn = self.db.conn(route).await?;
        let (repo_roles, team_roles): (Vec<String>, Vec<String>) = db_run!(conn, |c| async {
            // Permissions naming the account, or a team the account is a member of.
            let my_teams = teammember::table
                .filter(teammember::user_id.eq(uid))
                .select(teammember::team_id.nullable());
            let repo_roles = repositorypermission::table
                .inner_join(role::table.on(role::id.eq(repositorypermission::role_id)))
                .filter(repositorypermission::repository_id.eq(repo))
                .filter(
                    repositorypermission::user_id
                        .eq(uid)
                        .or(repositorypermission::team_id.eq_any(my_teams)),
                )
                .select(role::name)
                .load::<String>(c)
                .await?;
            // The account's teams in the organization that owns the repository.
            let owner = repository::table
                .filter(repository::id.eq(repo))
                .select(repository::namespace_user_id);
            let organizations = user::table
                .filter(user::organization.eq(true))
                .select(user::id);
            let team_roles = team::table
                .inner_join(teamrole::table.on(teamrole::id.eq(team::role_id)))
                .inner_join(teammember::table.on(teammember::team_id.eq(team::id)))
                .filter(teammember::user_id.eq(uid))
                .filter(team::organization_id.nullable().eq_any(owner))
                .filter(team::organization_id.eq_any(organizations))
                .select(teamrole::name)
                .load::<String>(c)
                .await?;
            Ok::<_, diesel::result::Error>((repo_roles, team_roles))
        }
        .await)
        .map_err(|e| backend("reading repository permissions", e))?;
        let repository_roles = repo_roles
            .iter()
            .map(|n| Role::from_name(n).ok_or_else(|| corrupt(format!("unknown role `{n}`"))))
            .collect::<Result<Vec<_>, _>>()?;
        let org_team_roles = team_roles
            .iter()
            .map(|n| {
                TeamRole::from_name(n).ok_or_else(|| corrupt(format!("unknown team role `{n}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RepositoryGrants {
            repository_roles,
            org_team_roles,
        })
    }
}
