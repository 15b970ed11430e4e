//! Last seen: each departure the presence tracker reports from a workspace channel is
//! recorded in the store, so the workspace's presence can say when an absent member was
//! last there. Several nodes may report one departure; the store keeps the newest time.

use tandem_realtime::{Channel, Departure};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::state::AppState;

/// Records departures until the tracker stops reporting them.
pub async fn record(state: AppState, mut departures: UnboundedReceiver<Departure>) {
    while let Some(departure) = departures.recv().await {
        let Ok(Channel::Workspace(workspace_id)) = departure.topic.parse() else {
            continue;
        };
        if let Err(error) = state
            .store
            .record_last_seen(workspace_id, departure.user_id, departure.at)
            .await
        {
            tracing::warn!(error = ?error, %workspace_id, "recording last seen failed");
        }
    }
}
