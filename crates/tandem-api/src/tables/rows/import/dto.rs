//! The JSON shapes of a CSV import: the query, and what a preview answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tandem_domain::FieldError;
use tandem_tables::field::FieldType;
use utoipa::{IntoParams, ToSchema};

use crate::tables::dto::FieldView;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Create a field (of the inferred type) for each column no field is named after
    /// (default `true`); with `false` such columns are skipped.
    pub create_fields: Option<bool>,
}

/// What an import would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPreview {
    /// Data rows in the CSV (the header is not one).
    pub rows: usize,
    pub columns: Vec<ColumnPreview>,
    /// The first rows as they would be stored, cells keyed by column name.
    pub sample: Vec<SampleRow>,
    /// Cells of the whole CSV the fields' rules refuse; an import is refused unless 0.
    pub invalid_cells: usize,
    /// The first 100 of them: `{field: "rows[i].{column}", message, code}`.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

/// Where one column goes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnPreview {
    /// The header, trimmed.
    pub column: String,
    /// The existing field of that name (ignoring case) the column fills.
    pub field: Option<FieldView>,
    /// Otherwise the field to be created: `{"type": "number", "precision": 2}`.
    #[schema(value_type = Option<Object>)]
    pub create: Option<FieldType>,
    /// Why the column is not imported: `read_only_field` or `no_field`.
    pub skipped: Option<&'static str>,
}

/// One row of the sample.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleRow {
    /// The line it starts on (the header is line 1).
    pub line: u64,
    /// Each imported column's value as stored (`null` when empty or refused).
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// The row's refused cells.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}
