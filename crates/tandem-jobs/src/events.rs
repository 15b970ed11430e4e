//! What the queue tells the rest of the server: every state change and progress report
//! of a job, for the realtime gateway to push to the project's and the submitter's
//! channels.

use tandem_domain::{Job, UserId};

/// A change to a job, after it is committed.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// Submitted (`actor` is the submitter).
    Created(Job),
    /// Its state changed: started, finished, failed, cancelled, buried, retried.
    Updated(Job),
    /// The running attempt reported progress.
    Progress(Job),
}

impl JobEvent {
    pub fn job(&self) -> &Job {
        match self {
            JobEvent::Created(job) | JobEvent::Updated(job) | JobEvent::Progress(job) => job,
        }
    }
}

/// Where job events go. The server publishes them to its realtime channels; tests
/// collect them.
pub trait JobEvents: Send + Sync + std::fmt::Debug {
    /// Publishes a committed change; `actor` is who caused it (`None`: the queue itself).
    fn publish(&self, actor: Option<UserId>, event: JobEvent);
}

/// Drops every event: for a worker with nobody to tell.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl JobEvents for NoEvents {
    fn publish(&self, _actor: Option<UserId>, _event: JobEvent) {}
}
