//! Tenancy: projects, members, invitations, workspaces and the audit log. Every handler
//! asks the one policy through `ProjectAccess`; none compares roles itself.

mod audit;
mod dto;
mod invitations;
mod members;
mod project;
mod workspaces;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every tenancy route, with full paths.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project::create_project, project::list_projects))
        .routes(routes!(
            project::get_project,
            project::update_project,
            project::delete_project
        ))
        .routes(routes!(members::list_members, members::add_member))
        .routes(routes!(members::change_role, members::remove_member))
        .routes(routes!(members::leave))
        .routes(routes!(members::transfer))
        .routes(routes!(
            invitations::create_invitation,
            invitations::list_invitations
        ))
        .routes(routes!(invitations::revoke_invitation))
        .routes(routes!(invitations::accept_invitation))
        .routes(routes!(
            workspaces::create_workspace,
            workspaces::list_workspaces
        ))
        .routes(routes!(
            workspaces::get_workspace,
            workspaces::update_workspace,
            workspaces::delete_workspace
        ))
        .routes(routes!(audit::list_audit))
}
