//! `code_execution`: runs a python, javascript or bash program in the sandbox. The
//! program's own failure (non-zero exit, timeout, out of memory) is the job's result; only
//! a fault of the sandbox itself fails the attempt.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::FieldError;
use tandem_sandbox::{Language, Limits, Program, Sandbox, SandboxError};

use crate::handler::{Fault, JobContext, JobHandler, Output};

/// The longest program accepted, in bytes.
pub const MAX_CODE_BYTES: usize = 64 * 1024;
/// The most standard input accepted, in bytes.
pub const MAX_STDIN_BYTES: usize = 1024 * 1024;

/// A `code_execution` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeExecutionPayload {
    pub language: Language,
    pub code: String,
    #[serde(default)]
    pub stdin: String,
    /// Wall-clock limit; the CPU limit is the same or the sandbox default, whichever is
    /// lower.
    pub timeout_ms: Option<u64>,
    pub memory_mb: Option<u64>,
}

/// Runs programs in `sandbox`.
#[derive(Debug, Clone)]
pub struct CodeExecution {
    sandbox: Arc<Sandbox>,
}

impl CodeExecution {
    pub fn new(sandbox: Arc<Sandbox>) -> Self {
        Self { sandbox }
    }

    fn limits(&self, payload: &CodeExecutionPayload) -> Limits {
        let defaults = &self.sandbox.config().limits;
        let wall_ms = payload.timeout_ms.unwrap_or(defaults.wall_ms);
        Limits {
            wall_ms,
            cpu_ms: defaults.cpu_ms.min(wall_ms),
            memory_mb: payload.memory_mb.unwrap_or(defaults.memory_mb),
            ..defaults.clone()
        }
    }
}

#[async_trait]
impl JobHandler for CodeExecution {
    fn kind(&self) -> &'static str {
        "code_execution"
    }

    /// A program's failure is a result, so only sandbox faults retry, and rarely help.
    fn max_attempts(&self) -> u32 {
        2
    }

    fn validate(&self, payload: &Value) -> Result<Value, Vec<FieldError>> {
        let isolation = self.sandbox.isolation();
        if !isolation.usable() {
            return Err(vec![FieldError::new(
                "kind",
                format!(
                    "code execution is disabled: this server cannot isolate programs ({})",
                    isolation
                        .detail
                        .as_deref()
                        .unwrap_or("isolation unavailable")
                ),
            )]);
        }
        let parsed: CodeExecutionPayload = serde_json::from_value(payload.clone())
            .map_err(|e| vec![FieldError::new("payload", e.to_string())])?;
        let max = &self.sandbox.config().max;
        let mut errors = Vec::new();
        if parsed.code.trim().is_empty() {
            errors.push(FieldError::new("payload.code", "is required"));
        }
        if parsed.code.len() > MAX_CODE_BYTES {
            errors.push(FieldError::new("payload.code", "must be at most 64 KiB"));
        }
        if parsed.stdin.len() > MAX_STDIN_BYTES {
            errors.push(FieldError::new("payload.stdin", "must be at most 1 MiB"));
        }
        if let Some(timeout) = parsed.timeout_ms
            && !(1..=max.wall_ms).contains(&timeout)
        {
            errors.push(FieldError::new(
                "payload.timeout_ms",
                format!("must be between 1 and {}", max.wall_ms),
            ));
        }
        if let Some(memory) = parsed.memory_mb
            && !(16..=max.memory_mb).contains(&memory)
        {
            errors.push(FieldError::new(
                "payload.memory_mb",
                format!("must be between 16 and {}", max.memory_mb),
            ));
        }
        if errors.is_empty() {
            serde_json::to_value(parsed)
                .map_err(|e| vec![FieldError::new("payload", e.to_string())])
        } else {
            Err(errors)
        }
    }

    async fn run(&self, ctx: &JobContext, payload: Value) -> Result<Output, Fault> {
        let payload: CodeExecutionPayload = serde_json::from_value(payload)
            .map_err(|e| Fault::new(format!("stored payload does not parse: {e}")))?;
        let limits = self.limits(&payload);
        let program = Program {
            language: payload.language,
            code: payload.code,
            stdin: payload.stdin.into_bytes(),
            limits,
        };
        match self.sandbox.run(program, ctx.stop.clone()).await {
            Ok(outcome) => serde_json::to_value(outcome)
                .map(Output::result)
                .map_err(|e| Fault::new(e.to_string())),
            Err(SandboxError::Cancelled) => Err(Fault::new("the run was stopped")),
            Err(error) => Err(Fault::new(error.to_string())),
        }
    }
}
