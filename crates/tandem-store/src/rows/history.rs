//! A row history entry's stored form, the same on both backends: the action's name and
//! the changes as one JSON object, `{"<field id>": [before, after], …}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tandem_domain::FieldId;
use tandem_tables::field::CellValue;
use uuid::Uuid;

use super::RowAction;

/// The changes of one update: each changed field's (before, after) cell.
pub(crate) type Changes = BTreeMap<FieldId, (Value, Value)>;

/// What an update changed, as history records it: the cells' API JSON before and after.
pub(crate) fn changes_of<'a>(
    changed: impl IntoIterator<Item = (FieldId, &'a CellValue, &'a CellValue)>,
) -> Changes {
    changed
        .into_iter()
        .map(|(field, before, after)| (field, (before.to_json(), after.to_json())))
        .collect()
}

/// The JSON text a history row stores for `changes`.
pub(crate) fn encode_changes(changes: &Changes) -> String {
    let object: Map<String, Value> = changes
        .iter()
        .map(|(field, (before, after))| {
            (
                field.0.hyphenated().to_string(),
                Value::Array(vec![before.clone(), after.clone()]),
            )
        })
        .collect();
    Value::Object(object).to_string()
}

/// Reads the JSON text written by [`encode_changes`].
pub(crate) fn decode_changes(text: &str) -> Result<Changes, sqlx::Error> {
    let malformed = || decode_error("malformed changes");
    let value: Value = serde_json::from_str(text).map_err(|_| malformed())?;
    let Value::Object(object) = value else {
        return Err(malformed());
    };
    object
        .into_iter()
        .map(|(field, pair)| {
            let field = Uuid::try_parse(&field).map_err(|_| malformed())?;
            match pair {
                Value::Array(pair) if pair.len() == 2 => {
                    let mut pair = pair.into_iter();
                    let before = pair.next().unwrap_or(Value::Null);
                    let after = pair.next().unwrap_or(Value::Null);
                    Ok((FieldId(field), (before, after)))
                }
                _ => Err(malformed()),
            }
        })
        .collect()
}

/// Reads a stored action name.
pub(crate) fn decode_action(name: &str) -> Result<RowAction, sqlx::Error> {
    [RowAction::Updated, RowAction::Trashed, RowAction::Restored]
        .into_iter()
        .find(|action| action.as_str() == name)
        .ok_or_else(|| decode_error("unknown action"))
}

fn decode_error(what: &'static str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: "table_row_history".to_owned(),
        source: what.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_round_trip_through_their_json_text() {
        let field = FieldId(Uuid::from_u128(7));
        let changes = changes_of([(field, &CellValue::Null, &CellValue::Text("ü".into()))]);
        let text = encode_changes(&changes);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({ "00000000-0000-0000-0000-000000000007": [null, "ü"] })
        );
        assert_eq!(decode_changes(&text).unwrap(), changes);
        assert!(decode_changes("[]").is_err());
        assert!(decode_changes(r#"{"x": [1, 2]}"#).is_err());
    }

    #[test]
    fn actions_read_back_by_name() {
        assert_eq!(decode_action("trashed").unwrap(), RowAction::Trashed);
        assert!(decode_action("created").is_err());
    }
}
