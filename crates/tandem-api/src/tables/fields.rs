//! Fields: `/api/v1/tables/{table_id}/fields` to create and list, and
//! `/api/v1/fields/{field_id}` to read, change and delete. A field's type sits flattened
//! beside its other parts (`field_type` reads it); a change of type converts the cells.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use tandem_domain::{Action, DomainEvent, FieldError, FieldId, TableField};
use tandem_store::{FIELD_NAME_TAKEN, FieldChanges, StoreError};
use tandem_tables::field::FieldName;

use super::access::{FieldAccess, TableAccess};
use super::dto::{
    CreateFieldRequest, DryRunQuery, FieldDryRunView, FieldUpdateView, FieldView,
    UpdateFieldRequest,
};
use super::field_type::read_type;
use super::handlers::name_message;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page};
use crate::state::AppState;

/// Add a field to the table (editor or above), after its last one. Its type's settings
/// sit beside its name: `{"name": "Price", "type": "number", "precision": 2}`.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/fields", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    request_body = CreateFieldRequest,
    responses(
        (status = 201, description = "The new field", body = FieldView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`field_name_taken`, `field_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `unknown_field_type`, or a setting's rule: `invalid_precision`, `invalid_option_id`, `invalid_option_name`, `invalid_color`, `duplicate_option_id`, `duplicate_option_name`, `too_many_options`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_field(
    State(state): State<AppState>,
    table: TableAccess,
    ApiJson(body): ApiJson<CreateFieldRequest>,
) -> ApiResult<(StatusCode, ApiJson<FieldView>)> {
    table.access.require(Action::EditTables)?;
    let name = field_name(&body.name).map_err(|e| ApiError::Validation(vec![e]))?;
    let field_type = read_type(&body.type_and_settings, None)?
        .ok_or_else(|| ApiError::field("type", "is required"))?;
    let field = add_field(&state, &table, name, field_type, body.indexed).await?;
    Ok((StatusCode::CREATED, ApiJson(field.into())))
}

/// Adds a field after the table's last one, within the table's field limit, with its
/// audit row and its `field.created` event. The caller has checked the role.
pub(crate) async fn add_field(
    state: &AppState,
    table: &TableAccess,
    name: FieldName,
    field_type: tandem_tables::field::FieldType,
    indexed: bool,
) -> ApiResult<TableField> {
    let fields = state.store.list_fields(table.table.id).await?;
    let max = state.config.tables.max_fields_per_table;
    if fields.len() as u64 >= max {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "field_limit_reached",
            format!("a table holds at most {max} fields"),
        ));
    }
    let audit = table.access.audit(state);
    let field = TableField {
        id: FieldId::new(audit.at),
        table_id: table.table.id,
        name,
        field_type,
        position: fields
            .iter()
            .map(|f| f.position)
            .max()
            .map_or(0, |last| last.saturating_add(1)),
        indexed,
        created_at: audit.at,
        updated_at: audit.at,
    };
    state
        .store
        .create_field(&field, &audit)
        .await
        .map_err(name_taken)?;
    state.events.publish(
        table.access.user_id,
        DomainEvent::FieldCreated(field.clone()),
    );
    Ok(field)
}

/// The table's fields by position: all of them, on one page (`next_cursor` is null).
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/fields", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The fields", body = Page<FieldView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_fields(
    State(state): State<AppState>,
    table: TableAccess,
) -> ApiResult<ApiJson<Page<FieldView>>> {
    table.access.require(Action::ReadTables)?;
    let fields = state.store.list_fields(table.table.id).await?;
    Ok(ApiJson(Page {
        items: fields.into_iter().map(FieldView::from).collect(),
        next_cursor: None,
    }))
}

/// A field.
#[utoipa::path(get, path = "/api/v1/fields/{field_id}", tag = "tables",
    security(("bearer" = [])),
    params(("field_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The field", body = FieldView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_field(field: FieldAccess) -> ApiResult<ApiJson<FieldView>> {
    field.table.access.require(Action::ReadTables)?;
    Ok(ApiJson(field.field.into()))
}

/// Rename, move (`position`), index or change the type of a field (editor or above). A
/// type change converts the cells; one that would empty some needs `"force": true`.
/// With `?dry_run=true` the change is checked and the cells it would empty counted, and
/// nothing is written.
#[utoipa::path(patch, path = "/api/v1/fields/{field_id}", tag = "tables",
    security(("bearer" = [])),
    params(("field_id" = Uuid, Path), DryRunQuery),
    request_body = UpdateFieldRequest,
    responses(
        (status = 200, description = "The updated field, or with `?dry_run=true` what the change would do", body = FieldUpdateView),
        (status = 400, description = "`invalid_query`: `dry_run` is not true or false", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`field_name_taken`; `lossy_type_change`: the change would empty `lost` cells and `force` was not given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `unknown_field_type`, `type_change_not_allowed` (between a stored and a system type), or a setting's rule: `invalid_precision`, `invalid_option_id`, `invalid_option_name`, `invalid_color`, `duplicate_option_id`, `duplicate_option_name`, `too_many_options`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_field(
    State(state): State<AppState>,
    access: FieldAccess,
    query: Result<Query<DryRunQuery>, QueryRejection>,
    ApiJson(body): ApiJson<UpdateFieldRequest>,
) -> ApiResult<ApiJson<FieldUpdateView>> {
    let Query(query) = query
        .map_err(|e| ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    update(&state, &access, &body, query.dry_run)
        .await
        .map(ApiJson)
}

/// Changes a field as `body` asks (or, for a dry run, says what the change would do).
pub async fn update(
    state: &AppState,
    access: &FieldAccess,
    body: &UpdateFieldRequest,
    dry_run: bool,
) -> ApiResult<FieldUpdateView> {
    access.table.access.require(Action::EditTables)?;
    let field = &access.field;
    let changes = field_changes(state, field, body)?;
    // Counted before the change, not in its transaction: a cell written in between that
    // cannot be carried over is emptied too, forced or not.
    let lost = match &changes.field_type {
        Some(to) => {
            state
                .store
                .conversion_loss(field.id, to, &changes.limits)
                .await?
        }
        None => 0,
    };
    if dry_run {
        check_name_free(state, field, &changes).await?;
        return Ok(FieldUpdateView::DryRun(FieldDryRunView {
            lost,
            field: preview(state, field, &changes).into(),
        }));
    }
    if is_empty(&changes) {
        // Nothing to change: no write, no audit row, no event.
        return Ok(FieldUpdateView::Updated(field.clone().into()));
    }
    if lost > 0 && !body.force {
        return Err(ApiError::LossyTypeChange { lost });
    }
    let updated = state
        .store
        .update_field(field.id, &changes, &access.table.access.audit(state))
        .await
        .map_err(name_taken)?;
    state.events.publish(
        access.table.access.user_id,
        DomainEvent::FieldUpdated(updated.clone()),
    );
    Ok(FieldUpdateView::Updated(updated.into()))
}

/// Delete a field with its cells (editor or above). A table whose primary field it was
/// has none after it.
#[utoipa::path(delete, path = "/api/v1/fields/{field_id}", tag = "tables",
    security(("bearer" = [])),
    params(("field_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_field(
    State(state): State<AppState>,
    access: FieldAccess,
) -> ApiResult<StatusCode> {
    let actor = access.table.access.user_id;
    access.table.access.require(Action::EditTables)?;
    state
        .store
        .delete_field(access.field.id, &access.table.access.audit(&state))
        .await?;
    let was_primary = access.table.table.primary_field_id == Some(access.field.id);
    state
        .events
        .publish(actor, DomainEvent::FieldDeleted(access.field));
    if was_primary && let Some(table) = state.store.table_by_id(access.table.table.id).await? {
        state
            .events
            .publish(actor, DomainEvent::TableUpdated(table));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The changes a body asks of `field`, checked, leaving out the parts it would not change.
fn field_changes(
    state: &AppState,
    field: &TableField,
    body: &UpdateFieldRequest,
) -> ApiResult<FieldChanges> {
    let name = body
        .name
        .as_deref()
        .map(field_name)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let field_type = read_type(&body.type_and_settings, Some(&field.field_type))?;
    if let Some(to) = &field_type
        && to.is_read_only() != field.field_type.is_read_only()
    {
        return Err(ApiError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "type_change_not_allowed",
            format!(
                "a {} field cannot become a {} field: the system types (autonumber, \
                 created_at, updated_at, created_by, updated_by) take their values from \
                 each row, so no field changes from or to one of them",
                field.field_type.tag(),
                to.tag()
            ),
        ));
    }
    Ok(FieldChanges {
        name: name.filter(|n| n.as_str() != field.name.as_str()),
        field_type: field_type.filter(|t| *t != field.field_type),
        limits: state.config.tables.limits,
        indexed: body.indexed.filter(|i| *i != field.indexed),
        position: body.position.filter(|p| *p != field.position),
    })
}

/// What the store would answer with 409 `field_name_taken`, checked for a dry run.
async fn check_name_free(
    state: &AppState,
    field: &TableField,
    changes: &FieldChanges,
) -> ApiResult<()> {
    let Some(name) = &changes.name else {
        return Ok(());
    };
    let fields = state.store.list_fields(field.table_id).await?;
    if fields
        .iter()
        .any(|other| other.id != field.id && other.name.key() == name.key())
    {
        return Err(name_taken(StoreError::Conflict(FIELD_NAME_TAKEN)));
    }
    Ok(())
}

fn is_empty(changes: &FieldChanges) -> bool {
    changes.name.is_none()
        && changes.field_type.is_none()
        && changes.indexed.is_none()
        && changes.position.is_none()
}

/// The field as `changes` would leave it.
fn preview(state: &AppState, field: &TableField, changes: &FieldChanges) -> TableField {
    let mut after = field.clone();
    if is_empty(changes) {
        return after;
    }
    if let Some(name) = &changes.name {
        after.name = name.clone();
    }
    if let Some(field_type) = &changes.field_type {
        after.field_type = field_type.clone();
    }
    after.indexed = changes.indexed.unwrap_or(after.indexed);
    after.position = changes.position.unwrap_or(after.position);
    after.updated_at = state.clock.now();
    after
}

/// A field's name: 1 to 255 characters, trimmed, no control characters.
fn field_name(raw: &str) -> Result<FieldName, FieldError> {
    FieldName::parse(raw).map_err(|e| FieldError::new("name", name_message(&e)))
}

fn name_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict(FIELD_NAME_TAKEN) => ApiError::client(
            StatusCode::CONFLICT,
            "field_name_taken",
            "the table has a field with this name already (names ignore case)",
        ),
        other => other.into(),
    }
}
