//! Invitations: `/api/v1/projects/{project_id}/invitations` to create, list and revoke,
//! and `/api/v1/invitations/{token}/accept` for the invited person.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use tandem_domain::{
    Action, DomainEvent, Email, Invitation, InvitationId, NewInvitation, Role, may_assign,
};
use tandem_store::Acceptance;

use super::dto::{AcceptedInvitation, CreateInvitationRequest, CreatedInvitation, InvitationView};
use crate::auth::{hash_token, new_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Actor, ApiJson, Page, Pagination, PathParams, ProjectAccess};
use crate::state::AppState;

const DEFAULT_HOURS: u32 = 72;
const MAX_HOURS: u32 = 720;

/// Invite someone with a role (admin or owner; never above the caller's role). The
/// token is in this response only.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = CreateInvitationRequest,
    responses(
        (status = 201, description = "The invitation and its single-use token", body = CreatedInvitation),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_invitation(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<CreateInvitationRequest>,
) -> ApiResult<(StatusCode, ApiJson<CreatedInvitation>)> {
    access.require(Action::ManageInvitations)?;
    if body.role == Role::Owner {
        return Err(ApiError::field(
            "role",
            "an invitation cannot make someone owner",
        ));
    }
    may_assign(access.role, None, body.role)
        .map_err(|r| ApiError::client(StatusCode::FORBIDDEN, "forbidden", r.to_string()))?;
    let email = body
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let hours = body.expires_in_hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(ApiError::field(
            "expires_in_hours",
            "must be between 1 and 720",
        ));
    }
    let audit = access.audit(&state);
    let (token, token_hash) = new_token();
    let invitation = Invitation {
        id: InvitationId::new(audit.at),
        project_id: access.project_id,
        email,
        role: body.role,
        created_by: access.user_id,
        created_at: audit.at,
        expires_at: audit.at + Duration::hours(i64::from(hours)),
        accepted_at: None,
        accepted_by: None,
        revoked_at: None,
    };
    let new = NewInvitation {
        invitation: invitation.clone(),
        token_hash,
    };
    state.store.create_invitation(&new, &audit).await?;
    state.events.publish(
        access.user_id,
        DomainEvent::InvitationCreated(invitation.clone()),
    );
    let accept_url = format!("/api/v1/invitations/{token}/accept");
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedInvitation {
            invitation: invitation.into(),
            token,
            accept_url,
        }),
    ))
}

/// The project's pending invitations.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of pending invitations", body = Page<InvitationView>),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_invitations(
    State(state): State<AppState>,
    access: ProjectAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<InvitationView>>> {
    access.require(Action::ManageInvitations)?;
    let after = pagination.after()?.map(InvitationId);
    let rows = state
        .store
        .list_pending_invitations(
            access.project_id,
            state.clock.now(),
            after,
            pagination.limit() + 1,
        )
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |i| i.id.0,
        InvitationView::from,
    )))
}

/// Revoke an invitation that has not been accepted.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/invitations/{invitation_id}", tag = "invitations",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked; its token no longer works"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such open invitation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    access: ProjectAccess,
    params: PathParams,
) -> ApiResult<StatusCode> {
    access.require(Action::ManageInvitations)?;
    let not_found = || ApiError::not_found("no such open invitation");
    let id = params
        .uuid("invitation_id")
        .map(InvitationId)
        .ok_or_else(not_found)?;
    let invitation = state.store.invitation_by_id(id).await?;
    if invitation.is_none_or(|i| i.project_id != access.project_id) {
        return Err(not_found());
    }
    let revoked = state
        .store
        .revoke_invitation(id, &access.audit(&state))
        .await
        .map_err(|_| not_found())?;
    state
        .events
        .publish(access.user_id, DomainEvent::InvitationRevoked(revoked));
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation as the logged-in caller. Accepting when already a member keeps
/// the current role.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "invitations",
    security(("bearer" = [])),
    params(("token" = String, Path, description = "The invitation token")),
    responses(
        (status = 200, description = "The caller's membership", body = AcceptedInvitation),
        (status = 403, description = "`invitation_email_mismatch`: the invitation is for another email", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`invitation_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`invitation_used`, `invitation_revoked` or `invitation_expired`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    actor: Actor,
    params: PathParams,
) -> ApiResult<ApiJson<AcceptedInvitation>> {
    // A token that is not UTF-8 matches no invitation, like any other unknown token.
    let token = params.get("token").unwrap_or_default();
    let user = state
        .store
        .user_by_id(actor.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the account no longer exists"))?;
    let outcome = state
        .store
        .accept_invitation(&hash_token(token), &user.email, &actor.audit(&state))
        .await?;
    let gone = |code, detail: &str| ApiError::client(StatusCode::GONE, code, detail);
    let (project_id, member, joined) = match outcome {
        Acceptance::Joined { project_id, member } => (project_id, member, true),
        Acceptance::AlreadyMember { project_id, member } => (project_id, member, false),
        Acceptance::Unknown => {
            return Err(ApiError::client(
                StatusCode::NOT_FOUND,
                "invitation_not_found",
                "no invitation has this token",
            ));
        }
        Acceptance::Used => {
            return Err(gone(
                "invitation_used",
                "this invitation was accepted already",
            ));
        }
        Acceptance::Revoked => {
            return Err(gone("invitation_revoked", "this invitation was revoked"));
        }
        Acceptance::Expired => {
            return Err(gone("invitation_expired", "this invitation has expired"));
        }
        Acceptance::WrongEmail => {
            return Err(ApiError::client(
                StatusCode::FORBIDDEN,
                "invitation_email_mismatch",
                "this invitation is for another email address",
            ));
        }
    };
    if joined {
        state.events.publish(
            actor.user_id,
            DomainEvent::MemberAdded {
                project_id,
                member: member.clone(),
            },
        );
    }
    Ok(ApiJson(AcceptedInvitation {
        project_id: project_id.0,
        member: member.into(),
        joined,
    }))
}
