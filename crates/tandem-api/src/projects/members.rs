//! `/api/v1/projects/{project_id}/members` and `/transfer`: who is in a project, with
//! which role, and the rules for changing that.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{
    Action, DomainEvent, Email, Membership, MembershipRefusal, Role, UserId, may_assign, may_remove,
};

use super::dto::{AddMemberRequest, ChangeRoleRequest, MemberView, TransferRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, PathParams, ProjectAccess};
use crate::state::AppState;

/// The project's members.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/members", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of members", body = Page<MemberView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_members(
    State(state): State<AppState>,
    access: ProjectAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<MemberView>>> {
    access.require(Action::ListMembers)?;
    let after = pagination.after()?.map(UserId);
    let rows = state
        .store
        .list_members(access.project_id, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |m| m.user_id.0,
        MemberView::from,
    )))
}

/// Add an existing account to the project with a role (admin or owner; never above
/// the caller's own role).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/members", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "The new member", body = MemberView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such project, or no account with this email", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`member_exists`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_member(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<AddMemberRequest>,
) -> ApiResult<(StatusCode, ApiJson<MemberView>)> {
    access.require(Action::ManageMembers)?;
    may_assign(access.role, None, body.role).map_err(refusal)?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::Validation(vec![e]))?;
    let user = state
        .store
        .user_by_email(email.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("no account has this email"))?;
    let audit = access.audit(&state);
    let membership = Membership {
        project_id: access.project_id,
        user_id: user.id,
        role: body.role,
        joined_at: audit.at,
    };
    let member = state
        .store
        .add_member(&membership, &audit)
        .await
        .map_err(member_conflict)?;
    state.events.publish(
        access.user_id,
        DomainEvent::MemberAdded {
            project_id: access.project_id,
            member: member.clone(),
        },
    );
    Ok((StatusCode::CREATED, ApiJson(member.into())))
}

/// Change a member's role.
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with the new role", body = MemberView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_role(
    State(state): State<AppState>,
    access: ProjectAccess,
    params: PathParams,
    ApiJson(body): ApiJson<ChangeRoleRequest>,
) -> ApiResult<ApiJson<MemberView>> {
    access.require(Action::ManageMembers)?;
    let target = member_role(&state, &access, &params).await?;
    may_assign(access.role, Some(target.1), body.role).map_err(refusal)?;
    let member = state
        .store
        .change_role(
            access.project_id,
            target.0,
            body.role,
            &access.audit(&state),
        )
        .await?;
    state.events.publish(
        access.user_id,
        DomainEvent::MemberRoleChanged {
            project_id: access.project_id,
            user_id: target.0,
            role: body.role,
        },
    );
    Ok(ApiJson(member.into()))
}

/// Remove a member (the owner cannot be removed; transfer ownership first).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`owner_must_transfer`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    access: ProjectAccess,
    params: PathParams,
) -> ApiResult<StatusCode> {
    access.require(Action::ManageMembers)?;
    let (user_id, role) = member_role(&state, &access, &params).await?;
    may_remove(access.role, role).map_err(refusal)?;
    remove(&state, &access, user_id).await
}

/// Leave a project (the owner must transfer ownership first).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/members/me", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    responses(
        (status = 204, description = "The caller is no longer a member"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`owner_must_transfer`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn leave(State(state): State<AppState>, access: ProjectAccess) -> ApiResult<StatusCode> {
    if access.role == Role::Owner {
        return Err(refusal(MembershipRefusal::OwnerMustTransfer));
    }
    remove(&state, &access, access.user_id).await
}

/// Make another member the owner; the current owner becomes an admin.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/transfer", tag = "members",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = TransferRequest,
    responses(
        (status = 204, description = "Ownership transferred"),
        (status = 403, description = "`forbidden`: only the owner transfers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such project or member", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transfer(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<TransferRequest>,
) -> ApiResult<StatusCode> {
    access.require(Action::TransferOwnership)?;
    let to = UserId(body.user_id);
    if to == access.user_id {
        return Err(ApiError::field("user_id", "is already the owner"));
    }
    state
        .store
        .transfer_ownership(access.project_id, to, &access.audit(&state))
        .await
        .map_err(|e| match e {
            tandem_store::StoreError::NotFound => ApiError::not_found("no such member"),
            other => other.into(),
        })?;
    state.events.publish(
        access.user_id,
        DomainEvent::OwnershipTransferred {
            project_id: access.project_id,
            from: access.user_id,
            to,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    state: &AppState,
    access: &ProjectAccess,
    user_id: UserId,
) -> ApiResult<StatusCode> {
    state
        .store
        .remove_member(access.project_id, user_id, &access.audit(state))
        .await?;
    state.events.publish(
        access.user_id,
        DomainEvent::MemberRemoved {
            project_id: access.project_id,
            user_id,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The member named in the path and their current role; 404 if not a member.
async fn member_role(
    state: &AppState,
    access: &ProjectAccess,
    params: &PathParams,
) -> ApiResult<(UserId, Role)> {
    let not_found = || ApiError::not_found("no such member");
    let user_id = params.uuid("user_id").map(UserId).ok_or_else(not_found)?;
    let membership = state
        .store
        .membership(access.project_id, user_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((user_id, membership.role))
}

fn refusal(refusal: MembershipRefusal) -> ApiError {
    match refusal {
        MembershipRefusal::OwnerMustTransfer => ApiError::client(
            StatusCode::CONFLICT,
            "owner_must_transfer",
            refusal.to_string(),
        ),
        MembershipRefusal::OwnershipByTransferOnly => ApiError::field(
            "role",
            "owner is given only by POST /api/v1/projects/{project_id}/transfer",
        ),
        MembershipRefusal::AboveOwnRole | MembershipRefusal::OutranksActor => {
            ApiError::client(StatusCode::FORBIDDEN, "forbidden", refusal.to_string())
        }
    }
}

fn member_conflict(err: tandem_store::StoreError) -> ApiError {
    match err {
        tandem_store::StoreError::Conflict("members.user") => ApiError::client(
            StatusCode::CONFLICT,
            "member_exists",
            "this account is a member already",
        ),
        other => other.into(),
    }
}
