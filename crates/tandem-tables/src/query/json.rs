//! The JSON twin of the URL grammar, for `POST …/rows/query`: the same [`Query`], strict
//! (unknown keys refused) and under the same bounds, with values kept typed.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ast::{
    Condition, Direction, FieldRef, Filter, IsValue, Literal, Nulls, Op, Operand, Sort,
};
use super::bounds::{MAX_CONDITIONS, MAX_DEPTH, MAX_FIELDS, MAX_IN_ITEMS, MAX_VALUE_BYTES};
use super::cursor::Cursor;
use super::error::{Location, QueryError};
use super::request::Query;
use super::url::{parse_fields_by, parse_limit};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryDto {
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    order: Option<Vec<SortDto>>,
    #[serde(default)]
    select: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<Value>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    fields_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SortDto {
    field: String,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    nulls: Option<String>,
}

impl Query {
    /// Parses a JSON query body.
    pub fn from_json(body: &str) -> Result<Query, QueryError> {
        let dto: QueryDto = serde_json::from_str(body).map_err(|e| QueryError::MalformedJson {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let mut query = Query::default();
        if let Some(order) = dto.order {
            if order.len() > MAX_FIELDS {
                return Err(QueryError::TooManyFields {
                    at: Location::new("order", "", 0),
                    max: MAX_FIELDS,
                });
            }
            for (i, s) in order.into_iter().enumerate() {
                query.order.push(sort(s, &format!("order[{i}]"))?);
            }
        }
        if let Some(select) = dto.select {
            if select.is_empty() || select.len() > MAX_FIELDS {
                return Err(QueryError::MalformedSelect {
                    at: Location::new("select", "", 0),
                    reason: "expected from 1 to 1000 fields",
                });
            }
            let fields = select
                .into_iter()
                .enumerate()
                .map(|(i, f)| field(f, &format!("select[{i}]")));
            query.select = Some(fields.collect::<Result<_, _>>()?);
        }
        if let Some(limit) = dto.limit {
            query.limit = Some(parse_limit("limit", &limit.to_string())?);
        }
        if let Some(search) = dto.search {
            query.search = Some(bounded(search, "search")?);
        }
        if let Some(by) = dto.fields_by {
            query.fields_by = parse_fields_by("fields_by", &by)?;
        }
        if let Some(filter) = dto.filter {
            query.filter = Some(parse_filter(&filter, "filter".into(), 0, &mut 0)?);
        }
        if let Some(token) = dto.cursor {
            query.cursor = Some(Cursor::decode_for(&token, &query.order)?);
        }
        Ok(query)
    }

    /// The query as the JSON twin's document; absent parts are left out.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        if let Some(filter) = &self.filter {
            doc.insert("filter".into(), filter_json(filter));
        }
        if !self.order.is_empty() {
            let order = self.order.iter().map(|s| {
                json!({"field": s.field.0, "direction": s.direction.as_str(), "nulls": s.nulls.as_str()})
            });
            doc.insert("order".into(), Value::Array(order.collect()));
        }
        if let Some(select) = &self.select {
            doc.insert(
                "select".into(),
                select.iter().map(|f| f.0.clone()).collect(),
            );
        }
        if let Some(limit) = self.limit {
            doc.insert("limit".into(), limit.into());
        }
        if let Some(cursor) = &self.cursor {
            doc.insert("cursor".into(), cursor.encode().into());
        }
        if let Some(search) = &self.search {
            doc.insert("search".into(), search.clone().into());
        }
        doc.insert("fields_by".into(), self.fields_by.as_str().into());
        Value::Object(doc)
    }
}

fn filter_json(filter: &Filter) -> Value {
    match filter {
        Filter::And(children) => {
            json!({"and": children.iter().map(filter_json).collect::<Vec<_>>()})
        }
        Filter::Or(children) => json!({"or": children.iter().map(filter_json).collect::<Vec<_>>()}),
        Filter::Not(inner) => json!({"not": filter_json(inner)}),
        Filter::Condition(c) => {
            let value = match &c.value {
                Operand::Scalar(lit) => lit.to_json(),
                Operand::List(items) => items.iter().map(Literal::to_json).collect(),
                Operand::Is(IsValue::Null) => Value::Null,
                Operand::Is(IsValue::True) => Value::Bool(true),
                Operand::Is(IsValue::False) => Value::Bool(false),
                Operand::Is(IsValue::Unknown) => "unknown".into(),
            };
            json!({"field": c.field.0, "op": c.op.as_str(), "value": value})
        }
    }
}

fn malformed(path: &str, v: &Value, reason: &'static str) -> QueryError {
    QueryError::MalformedFilter {
        at: Location::new(path, &v.to_string(), 0),
        reason,
    }
}

fn bounded(s: String, path: &str) -> Result<String, QueryError> {
    if s.len() > MAX_VALUE_BYTES {
        return Err(QueryError::ValueTooLong {
            at: Location::new(path, &s, 0),
            max: MAX_VALUE_BYTES,
        });
    }
    Ok(s)
}

fn field(name: String, path: &str) -> Result<FieldRef, QueryError> {
    if name.is_empty() {
        return Err(malformed(
            path,
            &Value::String(name),
            "expected a field name",
        ));
    }
    Ok(FieldRef(bounded(name, path)?))
}

fn sort(s: SortDto, path: &str) -> Result<Sort, QueryError> {
    let bad = |v: &str, reason| QueryError::MalformedOrder {
        at: Location::new(path, v, 0),
        reason,
    };
    let direction = match s.direction.as_deref() {
        None | Some("asc") => Direction::Asc,
        Some("desc") => Direction::Desc,
        Some(other) => return Err(bad(other, "direction is asc or desc")),
    };
    let nulls = match s.nulls.as_deref() {
        None => direction.default_nulls(),
        Some("first") => Nulls::First,
        Some("last") => Nulls::Last,
        Some(other) => return Err(bad(other, "nulls is first or last")),
    };
    Ok(Sort {
        field: field(s.field, &format!("{path}.field"))?,
        direction,
        nulls,
    })
}

/// One filter node at `path`; `depth` counts the enclosing `and`/`or` groups, as in the
/// URL grammar (`not` adds none; serde_json's own recursion limit bounds chains of it).
fn parse_filter(
    v: &Value,
    path: String,
    depth: usize,
    count: &mut usize,
) -> Result<Filter, QueryError> {
    let Some(obj) = v.as_object() else {
        return Err(malformed(&path, v, "a filter is an object"));
    };
    for (key, or) in [("and", false), ("or", true)] {
        if let Some(children) = obj.get(key) {
            if obj.len() != 1 {
                return Err(malformed(&path, v, "`and`/`or` stands alone in its object"));
            }
            if depth + 1 > MAX_DEPTH {
                return Err(QueryError::FilterTooDeep {
                    at: Location::new(&path, "", 0),
                    max: MAX_DEPTH,
                });
            }
            let Some(children) = children.as_array().filter(|c| !c.is_empty()) else {
                return Err(malformed(&path, v, "`and`/`or` takes a non-empty array"));
            };
            let parsed = children
                .iter()
                .enumerate()
                .map(|(i, c)| parse_filter(c, format!("{path}.{key}[{i}]"), depth + 1, count))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if or {
                Filter::Or(parsed)
            } else {
                Filter::And(parsed)
            });
        }
    }
    if let Some(inner) = obj.get("not") {
        if obj.len() != 1 {
            return Err(malformed(&path, v, "`not` stands alone in its object"));
        }
        let inner = parse_filter(inner, format!("{path}.not"), depth, count)?;
        return Ok(Filter::Not(Box::new(inner)));
    }
    if obj
        .keys()
        .any(|k| !matches!(k.as_str(), "field" | "op" | "value"))
    {
        return Err(malformed(
            &path,
            v,
            "a condition has only `field`, `op` and `value`",
        ));
    }
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(QueryError::TooManyConditions {
            at: Location::new(&path, "", 0),
            max: MAX_CONDITIONS,
        });
    }
    let Some(Value::String(name)) = obj.get("field") else {
        return Err(malformed(&path, v, "a condition needs a `field` string"));
    };
    let field = field(name.clone(), &format!("{path}.field"))?;
    let Some(Value::String(op_name)) = obj.get("op") else {
        return Err(malformed(&path, v, "a condition needs an `op` string"));
    };
    let op = Op::from_name(op_name).ok_or_else(|| QueryError::UnknownOperator {
        at: Location::new(&format!("{path}.op"), op_name, 0),
        operator: op_name.chars().take(64).collect(),
    })?;
    let vpath = format!("{path}.value");
    let value = obj.get("value").unwrap_or(&Value::Null);
    let value = match (op, value) {
        (Op::In, Value::Array(items)) => {
            if items.len() > MAX_IN_ITEMS {
                return Err(QueryError::InListTooLong {
                    at: Location::new(&vpath, "", 0),
                    max: MAX_IN_ITEMS,
                });
            }
            let items = items
                .iter()
                .enumerate()
                .map(|(i, item)| literal(item, &format!("{vpath}[{i}]")));
            Operand::List(items.collect::<Result<_, _>>()?)
        }
        (Op::In, other) => return Err(malformed(&vpath, other, "`in` takes an array")),
        (Op::Is, Value::Null) => Operand::Is(IsValue::Null),
        (Op::Is, Value::Bool(true)) => Operand::Is(IsValue::True),
        (Op::Is, Value::Bool(false)) => Operand::Is(IsValue::False),
        (Op::Is, Value::String(s)) if IsValue::from_name(s).is_some() => {
            Operand::Is(IsValue::from_name(s).unwrap_or(IsValue::Null))
        }
        (Op::Is, other) => {
            return Err(malformed(
                &vpath,
                other,
                "`is` takes null, true, false or \"unknown\"",
            ));
        }
        (_, Value::Null) => {
            return Err(malformed(&vpath, value, "compare with null using op `is`"));
        }
        (_, scalar) => Operand::Scalar(literal(scalar, &vpath)?),
    };
    Ok(Filter::Condition(Condition { field, op, value }))
}

fn literal(v: &Value, path: &str) -> Result<Literal, QueryError> {
    let lit = match v {
        Value::String(s) => Literal::Text(bounded(s.clone(), path)?),
        Value::Number(n) => Literal::Number(n.clone()),
        Value::Bool(b) => Literal::Bool(*b),
        _ => return Err(malformed(path, v, "a value is a string, number or boolean")),
    };
    Ok(lit)
}
