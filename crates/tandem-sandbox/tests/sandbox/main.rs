//! The sandbox's integration tests: real supervisors, real interpreters, real attacks,
//! no mocks. One binary, so the helpers in `common` are shared without dead code.

mod common;
mod escapes;
mod limits;
mod programs;
