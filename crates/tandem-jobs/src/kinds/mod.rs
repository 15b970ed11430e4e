//! The job kinds Tandem runs, one module each, and the registry of them a server uses.

mod code_execution;
mod data_processing;
mod noop;
mod report;
mod table;

use std::sync::Arc;

use tandem_sandbox::Sandbox;
use tandem_store::Store;

pub use code_execution::CodeExecution;
pub use data_processing::DataProcessing;
pub use noop::Noop;
pub use report::Report;

use crate::handler::Registry;

/// Every kind: code execution runs in `sandbox` (refused at submission when the sandbox
/// cannot isolate programs here), reports read `store`'s audit log.
pub fn registry(sandbox: Arc<Sandbox>, store: Arc<dyn Store>) -> Registry {
    Registry::new()
        .with(Noop)
        .with(CodeExecution::new(sandbox))
        .with(DataProcessing)
        .with(Report::new(store))
}
