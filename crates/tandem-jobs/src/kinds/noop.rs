//! `noop`: does nothing and succeeds. For checking that workers run, and for measuring
//! the queue itself.

use async_trait::async_trait;
use serde_json::{Value, json};
use tandem_domain::FieldError;

use crate::handler::{Fault, JobContext, JobHandler, Output};

/// The largest payload a no-op takes, in bytes of JSON.
const MAX_PAYLOAD_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone, Copy, Default)]
pub struct Noop;

#[async_trait]
impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "noop"
    }

    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>> {
        if payload.to_string().len() > MAX_PAYLOAD_BYTES {
            return Err(vec![FieldError::new(
                "payload",
                "must be at most 4 KiB of JSON",
            )]);
        }
        Ok(payload.clone())
    }

    async fn run(&self, _ctx: &JobContext, _payload: Value) -> Result<Output, Fault> {
        Ok(Output::result(json!({})))
    }
}
