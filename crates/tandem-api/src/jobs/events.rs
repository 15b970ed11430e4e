//! Job events into the realtime gateway: each change of a job goes to its project's
//! channel and its submitter's `user:` channel as `job.created`, `job.updated` or
//! `job.progress`.

use tandem_domain::{DomainEvent, JobStatus, UserId};
use tandem_jobs::{JobEvent, JobEvents};

use crate::events::EventPublisher;

/// Publishes job events as domain events.
#[derive(Debug, Clone)]
pub struct PublishJobEvents(pub EventPublisher);

impl JobEvents for PublishJobEvents {
    fn publish(&self, actor: Option<UserId>, event: JobEvent) {
        let status = JobStatus::from(event.job());
        let event = match event {
            JobEvent::Created(_) => DomainEvent::JobCreated(status),
            JobEvent::Updated(_) => DomainEvent::JobUpdated(status),
            JobEvent::Progress(_) => DomainEvent::JobProgress(status),
        };
        self.0.publish_by(actor, event);
    }
}
