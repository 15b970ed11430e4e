//! Last seen: each departure the presence tracker reports from a workspace's or chat
//! room's channel is recorded in the store, so the place's presence can say when an
//! absent member was last there. Several nodes may report one departure; the store keeps
//! the newest time.

use tandem_realtime::{Channel, Departure};
use tandem_store::Place;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::state::AppState;

/// Records departures until the tracker stops reporting them, or the node stops. A
/// stopping node's sockets leave too: their departures are recorded until the last
/// socket has closed.
pub async fn record(state: AppState, mut departures: UnboundedReceiver<Departure>) {
    let stop = state.realtime.stop.clone();
    loop {
        let departure = tokio::select! {
            () = stop.cancelled() => break,
            departure = departures.recv() => departure,
        };
        let Some(departure) = departure else { return };
        save(&state, departure).await;
    }
    let mut sockets_closed = std::pin::pin!(state.realtime.sockets.wait());
    loop {
        let departure = tokio::select! {
            biased;
            departure = departures.recv() => departure,
            () = &mut sockets_closed => break,
        };
        let Some(departure) = departure else { return };
        save(&state, departure).await;
    }
    while let Ok(departure) = departures.try_recv() {
        save(&state, departure).await;
    }
}

async fn save(state: &AppState, departure: Departure) {
    let place = match departure.topic.parse() {
        Ok(Channel::Workspace(id)) => Place::Workspace(id),
        Ok(Channel::Room(id)) => Place::Room(id),
        _ => return,
    };
    if let Err(error) = state
        .store
        .record_last_seen(place, departure.user_id, departure.at)
        .await
    {
        tracing::warn!(error = ?error, ?place, "recording last seen failed");
    }
}
