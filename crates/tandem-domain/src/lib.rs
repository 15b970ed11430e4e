//! Tandem's domain: pure types and rules shared by every other crate, with no I/O.
//!
//! Values that cross a trust boundary (an email, a display name, a password) are parsed
//! into newtypes once; after that the type system carries the proof that they are valid.

mod account;
mod clock;
mod ids;
mod session;
mod validation;

pub use account::{DisplayName, Email, NewPassword, User};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{SessionId, UserId};
pub use session::{NewSession, RefreshTokenHash, Rotation, Session};
pub use validation::FieldError;
