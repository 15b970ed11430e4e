//! The job queue's attempts: claims that never hand one job to two workers, priority and
//! schedule, lease-token fencing, the reaper, retries and `dead`, and release. Submission
//! and steering are in `jobs_submission`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::json;
use tandem_domain::{JobId, JobKind, JobState, NewJob, Project, User};
use tandem_store::{Enqueued, Finish, StoreError};

use crate::Fixture;

pub const LEASE: StdDuration = StdDuration::from_secs(30);

impl Fixture {
    pub fn new_job(&self, project: &Project, by: &User, kind: &str) -> NewJob {
        self.tick();
        NewJob {
            id: JobId::new(self.now()),
            project_id: project.id,
            created_by: by.id,
            kind: JobKind::parse(kind, "kind").unwrap(),
            payload: json!({"n": 1}),
            priority: 0,
            run_at: self.now(),
            max_attempts: 3,
            idempotency_key: None,
            created_at: self.now(),
        }
    }

    pub async fn enqueue(&self, job: &NewJob) -> tandem_domain::Job {
        match self.store.enqueue_job(job, "digest").await.unwrap() {
            Enqueued::Created(job) => job,
            Enqueued::Existing(_) => panic!("expected a new job"),
        }
    }
}

#[tokio::test]
async fn a_claimed_job_runs_under_a_lease_and_is_not_claimed_twice() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let queued = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.attempt, 0);

    let claimed = f.store.claim_jobs(10, LEASE, f.now()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0].job;
    assert_eq!(
        (job.id, job.state, job.attempt),
        (queued.id, JobState::Running, 1)
    );
    assert_eq!(job.lease_expires_at, Some(f.now() + Duration::seconds(30)));
    assert_eq!(job.started_at, Some(f.now()));
    assert!(
        f.store
            .claim_jobs(10, LEASE, f.now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_claims_never_take_one_job_twice() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let mut expected = HashSet::new();
    for _ in 0..120 {
        expected.insert(f.enqueue(&f.new_job(&project, &ada, "noop")).await.id);
    }
    let now = f.now();
    let claimers = (0..6).map(|_| {
        let store = Arc::clone(&f.store);
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_jobs(4, LEASE, now).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.job.id));
            }
        })
    });
    let mut seen = Vec::new();
    for claimer in claimers {
        seen.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<JobId> = seen.iter().copied().collect();
    assert_eq!(seen.len(), distinct.len(), "a job was claimed twice");
    assert_eq!(distinct, expected);
}

#[tokio::test]
async fn claims_take_higher_priority_first_and_wait_for_run_at() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let low = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    let mut urgent = f.new_job(&project, &ada, "noop");
    urgent.priority = 10;
    let urgent = f.enqueue(&urgent).await;
    let mut later = f.new_job(&project, &ada, "noop");
    later.priority = 100;
    later.run_at = f.now() + Duration::minutes(5);
    let later = f.enqueue(&later).await;

    let first = f.store.claim_jobs(1, LEASE, f.now()).await.unwrap();
    assert_eq!(first[0].job.id, urgent.id);
    let second = f.store.claim_jobs(5, LEASE, f.now()).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.job.id).collect::<Vec<_>>(),
        [low.id]
    );
    f.clock.advance(Duration::minutes(5));
    let third = f.store.claim_jobs(5, LEASE, f.now()).await.unwrap();
    assert_eq!(third[0].job.id, later.id);
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_write() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let job = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    let stale = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);

    // The stale worker goes quiet; the reaper takes the job back and another claims it.
    f.clock.advance(Duration::seconds(31));
    let reaped = f.store.reap_expired_leases(f.now()).await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].state, JobState::Queued);
    assert_eq!(reaped[0].errors.len(), 1);
    assert_eq!(reaped[0].errors[0].attempt, 1);
    assert!(reaped[0].errors[0].message.contains("lease expired"));
    let fresh = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(fresh.job.attempt, 2);
    assert_ne!(fresh.token, stale.token);

    let now = f.now();
    assert_eq!(
        f.store
            .renew_lease(job.id, stale.token, None, LEASE, now)
            .await
            .unwrap(),
        None
    );
    let late = Finish::Succeeded {
        result: json!({"from": "stale"}),
        artifacts: vec![],
    };
    assert_eq!(
        f.store
            .finish_job(job.id, stale.token, late, now)
            .await
            .unwrap(),
        None
    );
    let renewed = f
        .store
        .renew_lease(job.id, fresh.token, Some(&json!({"done": 1})), LEASE, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.progress, Some(json!({"done": 1})));
    let done = Finish::Succeeded {
        result: json!({"from": "fresh"}),
        artifacts: vec![],
    };
    let finished = f
        .store
        .finish_job(job.id, fresh.token, done, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.state, JobState::Succeeded);
    assert_eq!(finished.result, Some(json!({"from": "fresh"})));
    assert_eq!(finished.finished_at, Some(now));
    // Once finished, neither token writes.
    let again = Finish::Cancelled;
    assert_eq!(
        f.store
            .finish_job(job.id, fresh.token, again, now)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn failures_retry_at_their_time_then_die_and_a_dead_job_can_be_retried() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let mut new = f.new_job(&project, &ada, "noop");
    new.max_attempts = 2;
    let job = f.enqueue(&new).await;

    let first = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);
    let retry_at = f.now() + Duration::seconds(7);
    let fail = Finish::Failed {
        error: "database hiccup".into(),
        retry_at,
    };
    let failed = f
        .store
        .finish_job(job.id, first.token, fail, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((failed.state, failed.run_at), (JobState::Failed, retry_at));
    assert_eq!(failed.finished_at, None);
    assert!(
        f.store
            .claim_jobs(1, LEASE, f.now())
            .await
            .unwrap()
            .is_empty()
    );

    f.clock.advance(Duration::seconds(7));
    let second = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.job.attempt, 2);
    let fail = Finish::Failed {
        error: "database hiccup again".into(),
        retry_at: f.now(),
    };
    let dead = f
        .store
        .finish_job(job.id, second.token, fail, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.finished_at, Some(f.now()));
    let messages: Vec<_> = dead
        .errors
        .iter()
        .map(|e| (e.attempt, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [(1, "database hiccup"), (2, "database hiccup again")]
    );

    let queued = f.store.retry_job(job.id, f.now()).await.unwrap().unwrap();
    assert_eq!((queued.state, queued.attempt), (JobState::Queued, 0));
    assert_eq!(queued.errors.len(), 2, "the history is kept");
    assert!(matches!(
        f.store.retry_job(job.id, f.now()).await,
        Err(StoreError::Conflict("jobs.state"))
    ));
    assert_eq!(
        f.store
            .retry_job(JobId::new(f.now()), f.now())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_reaper_finishes_the_cancel_of_a_job_whose_worker_died() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let job = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    f.store.claim_jobs(1, LEASE, f.now()).await.unwrap();
    f.store.cancel_job(job.id, f.now()).await.unwrap();
    f.clock.advance(Duration::seconds(31));
    let reaped = f.store.reap_expired_leases(f.now()).await.unwrap();
    assert_eq!(reaped[0].state, JobState::Cancelled);
}

#[tokio::test]
async fn the_reaper_buries_a_job_out_of_attempts_and_spares_live_leases() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let mut new = f.new_job(&project, &ada, "noop");
    new.max_attempts = 1;
    let doomed = f.enqueue(&new).await;
    f.store.claim_jobs(1, LEASE, f.now()).await.unwrap();
    f.clock.advance(Duration::seconds(20));
    let alive = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    f.store.claim_jobs(1, LEASE, f.now()).await.unwrap();
    f.clock.advance(Duration::seconds(11));
    let stats = f.store.queue_stats(f.now()).await.unwrap();
    assert_eq!(stats.expired_leases, 1);

    let reaped = f.store.reap_expired_leases(f.now()).await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!((reaped[0].id, reaped[0].state), (doomed.id, JobState::Dead));
    let still = f.store.job_by_id(alive.id).await.unwrap().unwrap();
    assert_eq!(still.state, JobState::Running);
}

#[tokio::test]
async fn a_released_job_is_queued_again_without_spending_an_attempt() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let job = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    let claim = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);
    let released = f
        .store
        .finish_job(job.id, claim.token, Finish::Released, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((released.state, released.attempt), (JobState::Queued, 0));
    let again = f.store.claim_jobs(1, LEASE, f.now()).await.unwrap();
    assert_eq!(again[0].job.attempt, 1);
}
