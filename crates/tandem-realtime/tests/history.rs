//! The history contract, on the history the environment picks: Redis when
//! `TANDEM_TEST_REDIS_URL` is set (CI's scale-out run), in memory otherwise.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tandem_realtime::{FrameTemplate, History, MemoryHistory, RedisHistory, Replay, Retention};
use uuid::Uuid;

const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";

/// Two nodes' handles on one deployment's history.
async fn histories(retention: Retention) -> (Arc<dyn History>, Arc<dyn History>) {
    match std::env::var(REDIS_URL_ENV)
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => {
            let prefix = format!("tandem-test-{}", Uuid::now_v7().simple());
            let connect = || async {
                let client = redis::Client::open(url.as_str()).unwrap();
                let redis = client.get_connection_manager().await.unwrap_or_else(|e| {
                    panic!("{REDIS_URL_ENV} is set but Redis is unreachable: {e}")
                });
                RedisHistory::new(redis, &prefix, retention)
            };
            (Arc::new(connect().await), Arc::new(connect().await))
        }
        None => {
            let history: Arc<dyn History> = Arc::new(MemoryHistory::new(retention));
            (history.clone(), history)
        }
    }
}

fn template(label: &str) -> FrameTemplate {
    FrameTemplate {
        head: Bytes::from(format!("{{\"label\":\"{label}\",\"seq\":")),
        tail: Bytes::from_static(b"}"),
    }
}

fn events(replay: Replay) -> Vec<(u64, String)> {
    match replay {
        Replay::Events(events) => events
            .into_iter()
            .map(|e| (e.seq, String::from_utf8(e.frame.to_vec()).unwrap()))
            .collect(),
        Replay::Resync => panic!("expected events, got resync"),
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

#[tokio::test]
async fn each_channel_numbers_its_events_from_one_and_frames_carry_the_seq() {
    let (history, _) = histories(Retention::default()).await;
    for expected in 1..=3 {
        let recorded = history
            .append("workspace:a", now(), &template("a"))
            .await
            .unwrap();
        assert_eq!(recorded.seq, expected);
        assert_eq!(
            recorded.frame,
            Bytes::from(format!("{{\"label\":\"a\",\"seq\":{expected}}}"))
        );
    }
    assert_eq!(
        history
            .append("workspace:b", now(), &template("b"))
            .await
            .unwrap()
            .seq,
        1
    );
}

#[tokio::test]
async fn since_replays_exactly_what_was_missed_in_order() {
    let (history, _) = histories(Retention::default()).await;
    for label in ["one", "two", "three", "four"] {
        history
            .append("project:p", now(), &template(label))
            .await
            .unwrap();
    }
    let missed = events(history.since("project:p", 2, now()).await.unwrap());
    assert_eq!(
        missed,
        [
            (3, r#"{"label":"three","seq":3}"#.to_owned()),
            (4, r#"{"label":"four","seq":4}"#.to_owned())
        ]
    );
    assert_eq!(
        events(history.since("project:p", 4, now()).await.unwrap()),
        []
    );
    assert_eq!(
        events(history.since("project:p", 0, now()).await.unwrap()).len(),
        4
    );
    assert_eq!(
        events(history.since("project:never", 0, now()).await.unwrap()),
        []
    );
}

#[tokio::test]
async fn since_older_than_what_is_kept_means_resync() {
    let (history, _) = histories(Retention {
        events: 3,
        max_age: Duration::from_secs(3600),
    })
    .await;
    for i in 0..10 {
        history
            .append("project:p", now(), &template(&i.to_string()))
            .await
            .unwrap();
    }
    assert_eq!(
        history.since("project:p", 1, now()).await.unwrap(),
        Replay::Resync
    );
    let recent = events(history.since("project:p", 7, now()).await.unwrap());
    assert_eq!(
        recent.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

#[tokio::test]
async fn events_older_than_the_retention_age_are_not_replayed() {
    let (history, _) = histories(Retention {
        events: 100,
        max_age: Duration::from_secs(3600),
    })
    .await;
    let start = now();
    history
        .append("project:p", start, &template("old"))
        .await
        .unwrap();
    history
        .append(
            "project:p",
            start + chrono::Duration::minutes(90),
            &template("new"),
        )
        .await
        .unwrap();
    let later = start + chrono::Duration::minutes(91);
    assert_eq!(
        history.since("project:p", 0, later).await.unwrap(),
        Replay::Resync,
        "seq 1 aged out"
    );
    assert_eq!(
        events(history.since("project:p", 1, later).await.unwrap()).len(),
        1
    );
}

#[tokio::test]
async fn a_seq_this_history_never_assigned_means_resync() {
    let (history, _) = histories(Retention::default()).await;
    history
        .append("project:p", now(), &template("x"))
        .await
        .unwrap();
    assert_eq!(
        history.since("project:p", 5, now()).await.unwrap(),
        Replay::Resync
    );
}

#[tokio::test]
async fn two_nodes_appending_at_once_share_one_gapless_sequence() {
    let (a, b) = histories(Retention::default()).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            node.append("workspace:w", Utc::now(), &template(&i.to_string()))
                .await
                .unwrap()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    let replayed = events(b.since("workspace:w", 0, now()).await.unwrap());
    assert_eq!(
        replayed.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
}
