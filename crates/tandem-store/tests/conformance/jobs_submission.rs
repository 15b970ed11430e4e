//! The job queue's submission and steering: idempotent enqueue (concurrent too), missing
//! projects, cancel, artifacts and pruning, listing with filters, and batches with
//! per-job outcomes.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use tandem_domain::{JobId, JobKind, JobState};
use tandem_store::{Artifact, Enqueued, Finish, JobFilter, StoreError};

use crate::Fixture;
use crate::jobs::LEASE;

#[tokio::test]
async fn an_idempotency_key_gives_back_the_first_job_and_refuses_a_different_one() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let mut new = f.new_job(&project, &ada, "noop");
    new.idempotency_key = Some("key-1".into());
    let first = f.enqueue(&new).await;

    let mut again = f.new_job(&project, &ada, "noop");
    again.idempotency_key = Some("key-1".into());
    match f.store.enqueue_job(&again, "digest").await.unwrap() {
        Enqueued::Existing(job) => assert_eq!(job.id, first.id),
        Enqueued::Created(_) => panic!("a second job under one key"),
    }
    assert!(matches!(
        f.store.enqueue_job(&again, "another digest").await,
        Err(StoreError::Conflict("jobs.idempotency_key"))
    ));
    // Keys belong to their submitter.
    let mut bobs = f.new_job(&project, &bob, "noop");
    bobs.idempotency_key = Some("key-1".into());
    assert!(matches!(
        f.store.enqueue_job(&bobs, "digest").await.unwrap(),
        Enqueued::Created(_)
    ));
}

#[tokio::test]
async fn concurrent_submissions_under_one_key_create_one_job() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let submissions = (0..8).map(|_| {
        let mut new = f.new_job(&project, &ada, "noop");
        new.idempotency_key = Some("double-click".into());
        let store = Arc::clone(&f.store);
        tokio::spawn(async move { store.enqueue_job(&new, "digest").await.unwrap() })
    });
    let mut created = 0;
    let mut ids = HashSet::new();
    for submission in submissions {
        let outcome = submission.await.unwrap();
        created += usize::from(matches!(outcome, Enqueued::Created(_)));
        ids.insert(outcome.job().id);
    }
    assert_eq!((created, ids.len()), (1, 1));
}

#[tokio::test]
async fn a_job_for_a_missing_project_is_not_found() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let mut new = f.new_job(&project, &ada, "noop");
    new.project_id = tandem_domain::ProjectId::new(f.now());
    assert!(matches!(
        f.store.enqueue_job(&new, "digest").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn cancel_stops_a_queued_job_at_once_and_asks_a_running_one_to_stop() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let running = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    let claim = f
        .store
        .claim_jobs(1, LEASE, f.now())
        .await
        .unwrap()
        .remove(0);
    let queued = f.enqueue(&f.new_job(&project, &ada, "noop")).await;

    let cancelled = f
        .store
        .cancel_job(queued.id, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(cancelled.finished_at, Some(f.now()));
    assert!(
        f.store
            .claim_jobs(5, LEASE, f.now())
            .await
            .unwrap()
            .is_empty()
    );

    let asked = f
        .store
        .cancel_job(running.id, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (asked.state, asked.cancel_requested),
        (JobState::Running, true)
    );
    let heard = f
        .store
        .renew_lease(running.id, claim.token, None, LEASE, f.now())
        .await
        .unwrap()
        .unwrap();
    assert!(heard.cancel_requested);
    let stopped = f
        .store
        .finish_job(running.id, claim.token, Finish::Cancelled, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.state, JobState::Cancelled);
    // A finished job is returned as it is.
    let unchanged = f
        .store
        .cancel_job(stopped.id, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, stopped);
    assert_eq!(
        f.store
            .cancel_job(JobId::new(f.now()), f.now())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn artifacts_are_kept_with_a_successful_job_and_pruned_with_it() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let job = f.enqueue(&f.new_job(&project, &ada, "report")).await;
    let running = f.enqueue(&f.new_job(&project, &ada, "noop")).await;
    let claims = f.store.claim_jobs(2, LEASE, f.now()).await.unwrap();
    let claim = claims.iter().find(|c| c.job.id == job.id).unwrap();
    let report = Artifact {
        name: "report.md".into(),
        content_type: "text/markdown".into(),
        data: b"# Report".to_vec(),
    };
    let csv = Artifact {
        name: "report.csv".into(),
        content_type: "text/csv".into(),
        data: b"a,b\n".to_vec(),
    };
    let finish = Finish::Succeeded {
        result: json!({}),
        artifacts: vec![report.clone(), csv],
    };
    f.store
        .finish_job(job.id, claim.token, finish, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        f.store.job_artifact_names(job.id).await.unwrap(),
        ["report.csv", "report.md"]
    );
    assert_eq!(
        f.store.job_artifact(job.id, "report.md").await.unwrap(),
        Some(report)
    );
    assert_eq!(f.store.job_artifact(job.id, "nope").await.unwrap(), None);

    f.clock.advance(Duration::days(8));
    let pruned = f
        .store
        .prune_jobs(f.now() - Duration::days(7))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(f.store.job_by_id(job.id).await.unwrap(), None);
    assert_eq!(
        f.store.job_artifact(job.id, "report.md").await.unwrap(),
        None
    );
    assert!(
        f.store.job_by_id(running.id).await.unwrap().is_some(),
        "unfinished jobs stay"
    );
}

#[tokio::test]
async fn jobs_list_newest_first_with_filters_and_a_cursor() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let by = if n % 2 == 0 { &ada } else { &bob };
        let kind = if n < 3 { "noop" } else { "report" };
        ids.push(f.enqueue(&f.new_job(&project, by, kind)).await.id);
    }
    let all = JobFilter::default();
    let page = f.store.list_jobs(project.id, &all, None, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[4], ids[3]]
    );
    let next = f
        .store
        .list_jobs(project.id, &all, Some(ids[3]), 10)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]]
    );

    let by_bob = JobFilter {
        created_by: Some(bob.id),
        ..JobFilter::default()
    };
    let bobs = f
        .store
        .list_jobs(project.id, &by_bob, None, 10)
        .await
        .unwrap();
    assert_eq!(
        bobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[3], ids[1]]
    );
    let reports = JobFilter {
        kind: Some(JobKind::parse("report", "kind").unwrap()),
        state: Some(JobState::Queued),
        ..JobFilter::default()
    };
    assert_eq!(
        f.store
            .list_jobs(project.id, &reports, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let running = JobFilter {
        state: Some(JobState::Running),
        ..JobFilter::default()
    };
    assert!(
        f.store
            .list_jobs(project.id, &running, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let stats = f.store.queue_stats(f.now()).await.unwrap();
    let queued = stats
        .by_state
        .iter()
        .find(|(s, _)| *s == JobState::Queued)
        .unwrap()
        .1;
    assert_eq!(queued, 5);
    assert_eq!(stats.by_state.len(), JobState::ALL.len());
    assert!(stats.oldest_runnable.is_some());
}

#[tokio::test]
async fn a_batch_gives_each_job_its_own_outcome_in_one_transaction() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let mut keyed = f.new_job(&project, &ada, "noop");
    keyed.idempotency_key = Some("k".into());
    let first = f.enqueue(&keyed).await;
    let mut repeat = f.new_job(&project, &ada, "noop");
    repeat.idempotency_key = Some("k".into());
    let mut orphan = f.new_job(&project, &ada, "noop");
    orphan.project_id = tandem_domain::ProjectId::new(f.now());
    let fresh = f.new_job(&project, &ada, "noop");
    let batch = vec![
        (repeat.clone(), "digest".to_owned()),
        (orphan, "digest".to_owned()),
        (fresh.clone(), "digest".to_owned()),
        (repeat, "other".to_owned()),
    ];
    let outcomes = f.store.enqueue_jobs(&batch).await.unwrap();
    assert!(matches!(&outcomes[0], Ok(Enqueued::Existing(job)) if job.id == first.id));
    assert!(matches!(&outcomes[1], Err(StoreError::NotFound)));
    assert!(matches!(&outcomes[2], Ok(Enqueued::Created(job)) if job.id == fresh.id));
    assert!(matches!(
        &outcomes[3],
        Err(StoreError::Conflict("jobs.idempotency_key"))
    ));

    let claims = f.store.claim_jobs(10, LEASE, f.now()).await.unwrap();
    assert_eq!(claims.len(), 2);
    let stale = tandem_domain::LeaseToken(uuid::Uuid::nil());
    let done = Finish::Succeeded {
        result: json!({"ok": true}),
        artifacts: vec![],
    };
    let finished = f
        .store
        .finish_jobs(
            vec![
                (claims[0].job.id, claims[0].token, done.clone()),
                (claims[1].job.id, stale, done),
            ],
            f.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        finished[0].as_ref().map(|j| j.state),
        Some(JobState::Succeeded)
    );
    assert_eq!(finished[1], None, "a stale token writes nothing");
    let untouched = f.store.job_by_id(claims[1].job.id).await.unwrap().unwrap();
    assert_eq!(untouched.state, JobState::Running);
}
