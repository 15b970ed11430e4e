//! Binding: checks a parsed [`Query`] against a table's fields and produces the typed
//! [`BoundQuery`] a SQL generator (or the reference [`eval`](crate::eval)) consumes.
//!
//! What binding decides, which every backend must then implement alike:
//! - Field references resolve by name ignoring case ([`FieldName::key`](crate::field::FieldName::key)),
//!   or by id with `fields_by=id`; anything else is `unknown_field`.
//! - Operators per type: text-like (text, long_text, email, url) take `eq neq gt gte lt
//!   lte like ilike in`; number, date, datetime, created_at, updated_at and autonumber
//!   take `eq neq gt gte lt lte in`; boolean, single_select and user types take `eq neq
//!   in`; multi_select takes `eq` and `in` (holds any of the options) and `neq` (holds
//!   none); json takes no comparison. `is.null` fits every field; `is.true`, `is.false`
//!   and `is.unknown` (= `is.null`) only booleans. Others are `operator_not_allowed`.
//! - Literals are typed item by item (see `literal::typed`); an `in` list is
//!   deduplicated, and an empty one becomes [`Test::Never`].
//! - Sorting on multi_select or json is `unsortable_field`: neither has an order
//!   SQLite and PostgreSQL agree on. The keyset always ends with the row id ascending.
//! - A cursor must carry the query's sort exactly; its key values are typed for the
//!   sorted fields, else `invalid_cursor`.

mod bound;
mod error;
mod literal;
mod schema;

#[cfg(test)]
pub(crate) mod tests;

pub use bound::{
    BoundCondition, BoundFilter, BoundQuery, BoundSort, CompareOp, Keyset, LIKE_ESCAPE,
    LikePattern, SortTarget, Test,
};
pub use error::BindError;
pub use schema::{FieldDef, Schema};

use crate::field::Stored;
use crate::query::{
    Condition, Cursor, Direction, FieldRef, FieldsBy, Filter, IsValue, MAX_DEPTH, Nulls, Op,
    Operand, Query, Sort,
};
use literal::{Family, cursor_key, like_pattern, typed};

/// Binds `query` to the table described by `schema`.
pub fn bind(schema: &Schema, query: &Query) -> Result<BoundQuery, BindError> {
    let resolve = |r: &FieldRef| resolve(schema, query.fields_by, r);
    let filter = match &query.filter {
        Some(f) => Some(bind_filter(&resolve, f, 0)?),
        None => None,
    };
    let mut order = Vec::with_capacity(query.order.len() + 1);
    for sort in &query.order {
        let field = resolve(&sort.field)?;
        if matches!(Family::of(&field.field_type), Family::Multi | Family::Json) {
            return Err(BindError::UnsortableField {
                field: field.name.as_str().to_owned(),
                field_type: field.field_type.tag(),
            });
        }
        order.push(BoundSort {
            target: SortTarget::Field {
                kind: field.sql_kind(),
                field,
            },
            direction: sort.direction,
            nulls: sort.nulls,
        });
    }
    order.push(BoundSort {
        target: SortTarget::RowId,
        direction: Direction::Asc,
        nulls: Nulls::Last,
    });
    let select = match &query.select {
        None => schema.fields().to_vec(),
        Some(refs) => {
            let mut out: Vec<FieldDef> = Vec::with_capacity(refs.len());
            for r in refs {
                let field = resolve(r)?;
                if !out.iter().any(|f| f.id == field.id) {
                    out.push(field);
                }
            }
            out
        }
    };
    let after = match &query.cursor {
        Some(cursor) => Some(bind_cursor(cursor, &query.order, &order)?),
        None => None,
    };
    Ok(BoundQuery {
        filter,
        order,
        select,
        limit: query.limit,
        after,
        search: query.search.clone(),
        written_order: query.order.clone(),
    })
}

fn resolve(schema: &Schema, by: FieldsBy, r: &FieldRef) -> Result<FieldDef, BindError> {
    let found = match by {
        FieldsBy::Name => schema.by_name(r.as_str()),
        FieldsBy::Id => uuid::Uuid::try_parse(r.as_str())
            .ok()
            .and_then(|id| schema.by_id(id)),
    };
    found.cloned().ok_or_else(|| BindError::UnknownField {
        reference: r.as_str().to_owned(),
    })
}

fn bind_filter(
    resolve: &dyn Fn(&FieldRef) -> Result<FieldDef, BindError>,
    filter: &Filter,
    depth: usize,
) -> Result<BoundFilter, BindError> {
    // The parsers bound nesting; a hand-built AST might not, and recursion must not
    // overflow the stack.
    if depth > MAX_DEPTH + 1 {
        return Err(BindError::FilterTooDeep { max: MAX_DEPTH });
    }
    let children = |fs: &[Filter]| -> Result<Vec<BoundFilter>, BindError> {
        fs.iter()
            .map(|f| bind_filter(resolve, f, depth + 1))
            .collect()
    };
    Ok(match filter {
        Filter::And(fs) => BoundFilter::And(children(fs)?),
        Filter::Or(fs) => BoundFilter::Or(children(fs)?),
        Filter::Not(f) => BoundFilter::Not(Box::new(bind_filter(resolve, f, depth + 1)?)),
        Filter::Condition(c) => BoundFilter::Condition(bind_condition(resolve(&c.field)?, c)?),
    })
}

fn bind_condition(field: FieldDef, c: &Condition) -> Result<BoundCondition, BindError> {
    let family = Family::of(&field.field_type);
    let name = field.name.as_str().to_owned();
    let not_allowed = |op: &str| BindError::OperatorNotAllowed {
        field: name.clone(),
        op: op.to_owned(),
        field_type: field.field_type.tag(),
    };
    let shape = |reason: &str| BindError::invalid(&name, "", reason);
    let test = match (c.op, &c.value) {
        (Op::Is, Operand::Is(v)) => match v {
            IsValue::Null => Test::IsNull,
            _ if family != Family::Boolean => {
                return Err(not_allowed(&format!("is.{}", v.as_str())));
            }
            IsValue::Unknown => Test::IsNull,
            IsValue::True => Test::IsTrue,
            IsValue::False => Test::IsFalse,
        },
        (Op::Is, _) => return Err(shape("`is` takes null, true, false or unknown")),
        (Op::In, Operand::List(items)) => {
            if family == Family::Json {
                return Err(not_allowed("in"));
            }
            let mut values: Vec<Stored> = Vec::with_capacity(items.len());
            for item in items {
                let v = typed(&field, item)?;
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            match (values.is_empty(), family) {
                (true, _) => Test::Never,
                (false, Family::Multi) => Test::ContainsAny(values),
                (false, _) => Test::In(values),
            }
        }
        (Op::In, _) => return Err(shape("`in` takes a list")),
        (op, Operand::Scalar(lit)) => {
            let allowed = match op {
                Op::Eq | Op::Neq => family != Family::Json,
                Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                    matches!(family, Family::Text | Family::Ordered)
                }
                Op::Like | Op::Ilike => family == Family::Text,
                Op::In | Op::Is => false,
            };
            if !allowed {
                return Err(not_allowed(op.as_str()));
            }
            scalar_test(op, &field, family, lit)?
        }
        (_, _) => return Err(shape("this operator takes one value")),
    };
    Ok(BoundCondition {
        kind: field.sql_kind(),
        field,
        test,
    })
}

fn scalar_test(
    op: Op,
    field: &FieldDef,
    family: Family,
    lit: &crate::query::Literal,
) -> Result<Test, BindError> {
    if let Op::Like | Op::Ilike = op {
        let crate::query::Literal::Text(p) = lit else {
            return Err(BindError::invalid(
                field.name.as_str(),
                &lit.raw(),
                "a pattern must be text",
            ));
        };
        if p.contains('\0') {
            return Err(BindError::invalid(
                field.name.as_str(),
                p,
                "text cannot contain the NUL character",
            ));
        }
        let ci = op == Op::Ilike;
        return Ok(Test::Like(LikePattern {
            pattern: like_pattern(p, ci),
            ascii_case_insensitive: ci,
        }));
    }
    let value = typed(field, lit)?;
    Ok(match (op, family) {
        (Op::Eq, Family::Multi) => Test::ContainsAny(vec![value]),
        (Op::Neq, Family::Multi) => Test::ContainsNone(vec![value]),
        _ => {
            let op = match op {
                Op::Neq => CompareOp::Neq,
                Op::Gt => CompareOp::Gt,
                Op::Gte => CompareOp::Gte,
                Op::Lt => CompareOp::Lt,
                Op::Lte => CompareOp::Lte,
                _ => CompareOp::Eq,
            };
            Test::Compare { op, value }
        }
    })
}

fn bind_cursor(
    cursor: &Cursor,
    written: &[Sort],
    order: &[BoundSort],
) -> Result<Keyset, BindError> {
    if cursor.sort != written {
        return Err(BindError::InvalidCursor {
            reason: "made for another sort".to_owned(),
        });
    }
    if cursor.key.len() != written.len() {
        return Err(BindError::InvalidCursor {
            reason: "not one key value per sort key".to_owned(),
        });
    }
    let mut key = Vec::with_capacity(order.len());
    for (sort, value) in order.iter().zip(&cursor.key) {
        if let SortTarget::Field { field, .. } = &sort.target {
            key.push(cursor_key(field, value)?);
        }
    }
    key.push(Stored::Uuid(cursor.row_id));
    Ok(Keyset { key })
}
