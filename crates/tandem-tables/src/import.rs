//! CSV import, with no I/O: reading a CSV (a header row of column names, RFC 4180
//! quoting, an optional UTF-8 byte-order mark) into columns and rows of text, inferring
//! a field type per column from its values ([`infer`]), and turning one cell's text into
//! the API JSON a field of a given type accepts ([`cell_value`]), the reverse of
//! [`crate::row::csv_text`].
//!
//! Headers become field names under [`FieldName`]'s rules; an empty header or two that
//! are equal ignoring case are an error, never silently renamed, so the names a client
//! sees in a preview are exactly the names it wrote.

mod infer;
#[cfg(test)]
mod tests;
mod text;

use std::collections::HashMap;

pub use infer::{MAX_SELECT_OPTIONS, infer, infer_column};
pub use text::cell_value;

use crate::field::{FieldName, NameError};

/// A CSV read whole: its columns' names and its rows, each as long as the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv {
    /// The header row's names, checked and trimmed.
    pub columns: Vec<FieldName>,
    /// The data rows' cells as text, in file order.
    pub rows: Vec<Vec<String>>,
    /// The 1-based line each row starts on (a quoted cell may span lines).
    pub lines: Vec<u64>,
}

/// Why a CSV cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Nothing at all, not even a header row.
    #[error("the CSV is empty: it needs a header row of column names")]
    Empty,
    /// Bytes that are not UTF-8.
    #[error("line {line} is not valid UTF-8")]
    InvalidUtf8 {
        /// The 1-based line of the first bad byte.
        line: u64,
    },
    /// A row with more or fewer cells than the header has names.
    #[error("line {line} has {found} cells where the header has {expected}")]
    RaggedRow {
        /// The 1-based line the row starts on.
        line: u64,
        /// The header's column count.
        expected: usize,
        /// The row's cell count.
        found: usize,
    },
    /// The CSV reader gave up (quoting it cannot follow).
    #[error("line {line}: {message}")]
    Malformed {
        /// The 1-based line where reading stopped.
        line: u64,
        /// The reader's explanation.
        message: String,
    },
    /// A header that is no valid field name.
    #[error("column {column}: {error}")]
    ColumnName {
        /// The 1-based column.
        column: usize,
        /// What is wrong with its name.
        error: NameError,
    },
    /// Two headers equal ignoring case.
    #[error("columns {first} and {column} are both named {name:?} (ignoring case)")]
    DuplicateColumn {
        /// The 1-based column of the first use.
        first: usize,
        /// The 1-based column of the second.
        column: usize,
        /// The second header as written.
        name: String,
    },
}

impl CsvError {
    /// The stable machine code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            CsvError::Empty => "csv_empty",
            CsvError::InvalidUtf8 { .. } => "csv_invalid_utf8",
            CsvError::RaggedRow { .. } => "csv_ragged_row",
            CsvError::Malformed { .. } => "csv_malformed",
            CsvError::ColumnName { .. } => "csv_invalid_column_name",
            CsvError::DuplicateColumn { .. } => "csv_duplicate_column",
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a whole CSV: UTF-8 (a leading byte-order mark is skipped), a header row, then
/// rows of exactly as many cells. Blank lines are skipped, as RFC 4180 readers do.
pub fn parse(bytes: &[u8]) -> Result<Csv, CsvError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // The reader's own line count goes astray on CRLF, so lines are counted here.
    let line_at = |byte: u64| {
        let end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        // After a CR the reader places the next record on the LF that ends the line.
        let start = if bytes.get(end) == Some(&b'\n') {
            end + 1
        } else {
            end
        };
        1 + bytes[..start].iter().filter(|b| **b == b'\n').count() as u64
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(CsvError::InvalidUtf8 {
            line: line_at(e.valid_up_to() as u64),
        });
    }
    let malformed = |error: csv::Error| CsvError::Malformed {
        line: error.position().map_or(0, |p| line_at(p.byte())),
        message: error.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(CsvError::Empty),
        Some(record) => record.map_err(malformed)?,
    };
    let columns = column_names(&header)?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in records {
        let record = record.map_err(malformed)?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.len() != columns.len() {
            return Err(CsvError::RaggedRow {
                line,
                expected: columns.len(),
                found: record.len(),
            });
        }
        rows.push(record.iter().map(str::to_owned).collect());
        lines.push(line);
    }
    Ok(Csv {
        columns,
        rows,
        lines,
    })
}

fn column_names(header: &csv::StringRecord) -> Result<Vec<FieldName>, CsvError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = FieldName::parse(raw).map_err(|error| CsvError::ColumnName {
            column: i + 1,
            error,
        })?;
        if let Some(first) = seen.insert(name.key(), i + 1) {
            return Err(CsvError::DuplicateColumn {
                first,
                column: i + 1,
                name: name.as_str().to_owned(),
            });
        }
        names.push(name);
    }
    Ok(names)
}
