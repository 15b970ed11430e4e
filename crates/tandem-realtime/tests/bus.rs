//! The bus contract, on the bus the environment picks: Redis pub/sub when
//! `TANDEM_TEST_REDIS_URL` is set (CI's scale-out run), the in-process bus otherwise.
//! With the variable set, an unreachable Redis fails the tests.

use std::sync::Arc;
use std::time::Duration;

use tandem_realtime::{Bus, Envelope, MemoryBus, RedisBus};
use tokio::sync::broadcast::Receiver;
use uuid::Uuid;

const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";

/// Two nodes of one deployment, or of two deployments when `same_deployment` is false.
async fn nodes(same_deployment: bool) -> (Arc<dyn Bus>, Arc<dyn Bus>) {
    let prefix = || format!("tandem-test-{}", Uuid::now_v7().simple());
    match std::env::var(REDIS_URL_ENV)
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => {
            let (first, second) = (prefix(), prefix());
            let connect = |prefix: String| {
                let url = url.clone();
                async move {
                    RedisBus::connect(&url, &prefix).await.unwrap_or_else(|e| {
                        panic!("{REDIS_URL_ENV} is set but Redis is unreachable: {e}")
                    })
                }
            };
            let a = connect(first.clone()).await;
            let b = connect(if same_deployment { first } else { second }).await;
            (Arc::new(a), Arc::new(b))
        }
        None if same_deployment => {
            let bus = MemoryBus::new();
            (Arc::new(bus.clone()), Arc::new(bus))
        }
        None => (Arc::new(MemoryBus::new()), Arc::new(MemoryBus::new())),
    }
}

async fn next(receiver: &mut Receiver<Envelope>) -> Envelope {
    tokio::time::timeout(Duration::from_secs(5), receiver.recv())
        .await
        .expect("an envelope within 5 s")
        .expect("the bus is open")
}

#[tokio::test]
async fn every_subscriber_on_every_node_receives_a_published_envelope() {
    let (a, b) = nodes(true).await;
    let (mut on_a, mut on_b, mut also_on_b) = (a.subscribe(), b.subscribe(), b.subscribe());
    let envelope = Envelope {
        origin: Some("node-a:1".into()),
        seq: Some(7),
        ..Envelope::new(
            "workspace:01900000-0000-7000-8000-000000000000",
            &b"{\"event\":\"cursor\"}"[..],
        )
    };
    a.publish(envelope.clone()).await.unwrap();
    for receiver in [&mut on_a, &mut on_b, &mut also_on_b] {
        assert_eq!(next(receiver).await, envelope);
    }
}

#[tokio::test]
async fn envelopes_from_one_publisher_arrive_in_order() {
    let (a, b) = nodes(true).await;
    let mut on_b = b.subscribe();
    for i in 0..200 {
        a.publish(Envelope::new("project:p", i.to_string().into_bytes()))
            .await
            .unwrap();
    }
    for i in 0..200 {
        assert_eq!(next(&mut on_b).await.payload, i.to_string().into_bytes());
    }
}

#[tokio::test]
async fn separate_deployments_do_not_hear_each_other() {
    let (a, b) = nodes(false).await;
    let mut on_b = b.subscribe();
    a.publish(Envelope::new("project:p", &b"for a only"[..]))
        .await
        .unwrap();
    b.publish(Envelope::new("project:p", &b"for b"[..]))
        .await
        .unwrap();
    assert_eq!(
        next(&mut on_b).await.payload,
        &b"for b"[..],
        "b hears only its own deployment"
    );
}

#[tokio::test]
async fn a_receiver_that_falls_too_far_behind_is_told_it_lagged() {
    use tokio::sync::broadcast::error::RecvError;
    let (a, _) = nodes(true).await;
    let (mut slow, mut marker) = (a.subscribe(), a.subscribe());
    let total = tandem_realtime::bus::CAPACITY + 10;
    for i in 0..total {
        a.publish(Envelope::new("t", i.to_string().into_bytes()))
            .await
            .unwrap();
    }
    // Once the marker has seen the last envelope, every envelope has reached this node
    // and `slow`, which read nothing, must have been overrun.
    let last = (total - 1).to_string().into_bytes();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), marker.recv())
            .await
            .expect("progress")
        {
            Ok(envelope) if envelope.payload == last => break,
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => panic!("the bus closed"),
        }
    }
    match slow.recv().await {
        Err(RecvError::Lagged(missed)) => assert!(missed >= 10, "missed {missed}"),
        other => panic!("expected a lag, got {other:?}"),
    }
}
