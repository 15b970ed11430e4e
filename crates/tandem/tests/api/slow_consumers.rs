//! Clients that stop reading: the server cuts them off rather than queue for them without
//! bound, and a client that reads again gets what was on its way, whole and in order,
//! then a close frame with 4008, not a bare end of stream. A joining client's initial
//! state does not count toward the collaborative socket's bound, and it has one on its
//! way at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use yrs::StateVector;
use yrs::sync::{Message as YMessage, SyncMessage};
use yrs::updates::encoder::Encode;

use crate::files::create_file;
use crate::helpers::spawn_app_with;
use crate::socket::{Auth, Ending};
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

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

#[tokio::test]
async fn a_collab_client_that_stops_reading_gets_what_was_on_its_way_then_4008() {
    let app = spawn_app_with(|s| {
        s.collab_max_update_bytes = 64 * 1024;
        s.collab_socket_queue_bytes = 128 * 1024;
        s.collab_updates_per_second = 100_000;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "stall.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut stalled = YClient::connect_slow(&app.address, id, &cast.viewer.access_token).await;
    stalled.pump_until(|p| p.saw_step2).await;
    stalled.set_awareness(r#"{"user":"stalled"}"#).await;
    let stalled_id = stalled.client_id();
    // The stalled client's state leaving the others is the server cutting it off.
    let mut watcher = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    watcher
        .pump_until(|p| p.awareness.get(&stalled_id).is_some_and(Option::is_some))
        .await;
    let cut_off = Arc::new(AtomicBool::new(false));
    let watching = tokio::spawn({
        let cut_off = cut_off.clone();
        async move {
            for _ in 0..300 {
                watcher.pump_for(100).await;
                if watcher.awareness.get(&stalled_id) == Some(&None) {
                    return cut_off.store(true, Ordering::Release);
                }
            }
        }
    });

    let mut writer = YClient::synced(&app.address, id, token).await;
    let chunk = |i: usize| format!("[{i}:{}]", "x".repeat(16 * 1024));
    let mut sent = 0;
    while !cut_off.load(Ordering::Acquire) {
        assert!(
            sent < 3_000,
            "the client that stopped reading was never cut off"
        );
        writer
            .insert(writer.text().len() as u32, &chunk(sent))
            .await;
        sent += 1;
        // Lets the server keep up with storing, so the bound is what cuts the client off.
        tokio::task::yield_now().await;
    }
    watching.await.unwrap();
    // It still sends while it does not read, and comes back well within the close's
    // deadline but later than a second.
    stalled.set_awareness(r#"{"user":"still here"}"#).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(stalled.read_to_end().await, Ending::Close(4008));
    let text = stalled.text();
    let received = (0..sent)
        .take_while(|&i| text.contains(&format!("[{i}:")))
        .count();
    assert!(received > 0, "what the kernel held arrives first");
    assert!(received < sent, "the rest was dropped");
    let expected: String = (0..received).map(chunk).collect();
    assert_eq!(text, expected, "updates arrive whole and in order");
}

#[tokio::test]
async fn a_joining_client_gets_a_state_larger_than_the_sockets_bound_one_answer_at_a_time() {
    let app = spawn_app_with(|s| {
        s.collab_max_update_bytes = 64 * 1024;
        s.collab_socket_queue_bytes = 128 * 1024;
        s.body_limit_bytes = 8 << 20;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let big: String = (0..40_000)
        .map(|i| format!("line {i}: {}\n", "y".repeat(60)))
        .collect();
    let created = create_file(&app, &scene, token, json!({"path": "big.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let put = app
        .send(
            Method::PUT,
            &format!("/api/v1/files/{id}/content"),
            token,
            Some(json!({"content": big})),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);

    // Its answer, about 2.8 MB, waits in the server while the client reads nothing. Two
    // more sync step 1s in the same frame find it still on its way and get no answer of
    // their own: a client that does not read holds one copy of the document in the
    // server, not one per request.
    let mut joiner = YClient::open_slow(&app.address, id, &cast.viewer.access_token).await;
    let step1 = YMessage::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
    joiner.send_raw(step1.repeat(3)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut answers = 0;
    for _ in 0..20 {
        answers += joiner.pump_for(250).await.step2s;
    }
    assert!(
        joiner.text() == big,
        "the joiner got {} bytes",
        joiner.text().len()
    );
    assert_eq!(answers, 1);
}
