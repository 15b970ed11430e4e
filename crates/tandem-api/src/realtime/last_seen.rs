//! Last seen: each departure the presence tracker reports from a workspace's or chat
//! room's channel is recorded in the store, so the place's presence can say when an
//! absent member was last there. Several nodes may report one departure; the store keeps
//! the newest time.

use tandem_realtime::{Channel, Departure};
use tandem_store::Place;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::state::AppState;

/// Records departures until the tracker stops reporting them.
pub async fn record(state: AppState, mut departures: UnboundedReceiver<Departure>) {
    while let Some(departure) = departures.recv().await {
        let place = match departure.topic.parse() {
            Ok(Channel::Workspace(id)) => Place::Workspace(id),
            Ok(Channel::Room(id)) => Place::Room(id),
            _ => continue,
        };
        if let Err(error) = state
            .store
            .record_last_seen(place, departure.user_id, departure.at)
            .await
        {
            tracing::warn!(error = ?error, ?place, "recording last seen failed");
        }
    }
}
