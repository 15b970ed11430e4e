//! Clients that stop reading: the server cuts them off rather than queue for them without
//! bound, and a client that reads again gets what was on its way, whole and in order,
//! then a close frame with 4008, not a bare end of stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::socket::{Auth, Ending};
use crate::tenancy_helpers::{Cast, Scene};

#[tokio::test]
async fn a_realtime_client_that_stops_reading_gets_what_was_on_its_way_then_4008() {
    let app = spawn_app_with(|s| {
        s.realtime_outbox_bytes = 64 * 1024;
        s.realtime_max_frame_bytes = 8 * 1024;
        s.realtime_publishes_per_second = 1_000_000;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let subscribe = json!({"type": "subscribe", "channel": channel});
    let mut slow = app.slow_socket(&cast.viewer.access_token).await;
    slow.request(subscribe.clone(), "s").await;
    // The slow socket leaving the channel's presence is the server cutting it off.
    let mut watcher = app.socket(Auth::Header(&cast.admin.access_token)).await;
    watcher.request(subscribe, "s").await;
    let cut_off = Arc::new(AtomicBool::new(false));
    let viewer = cast.viewer.id.clone();
    let watching = tokio::spawn({
        let cut_off = cut_off.clone();
        async move {
            loop {
                let frame = watcher.recv_any().await;
                let left = frame["type"] == "presence_diff"
                    && frame["leaves"]
                        .as_array()
                        .is_some_and(|left| left.iter().any(|m| m["user_id"] == viewer));
                if left {
                    return cut_off.store(true, Ordering::Release);
                }
            }
        }
    });

    let mut publisher = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let blob = "x".repeat(3_000);
    let mut published = 0;
    while !cut_off.load(Ordering::Acquire) {
        assert!(
            published < 20_000,
            "the client that stopped reading was never cut off"
        );
        let frame = json!({"type": "publish", "channel": channel, "event": "client.load",
            "data": {"i": published, "blob": blob}});
        let answer = publisher.request(frame, "p").await;
        assert_eq!(answer["type"], "ack", "{answer}");
        published += 1;
    }
    watching.await.unwrap();
    // It still sends while it does not read, and comes back well within the close's
    // deadline but later than a second.
    slow.send(json!({"type": "ping", "ref": "late"})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (frames, ending) = slow.read_to_end().await;
    let received: Vec<u64> = frames
        .iter()
        .filter(|frame| frame["event"] == "client.load")
        .map(|frame| frame["data"]["i"].as_u64().unwrap())
        .collect();
    assert!(!received.is_empty(), "what the kernel held arrives first");
    assert!(
        received.iter().copied().eq(0..received.len() as u64),
        "events arrive whole and in order, none missing before the cut"
    );
    assert!((received.len() as u64) < published, "the rest was dropped");
    assert_eq!(
        ending,
        Ending::Close(4008),
        "after {} events",
        received.len()
    );
}
