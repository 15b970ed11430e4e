//! Emptying the trash: rows trashed longer than `tables_trash_retention` ago are deleted
//! for good, with their history, by a task every node runs (the delete is idempotent,
//! so nodes running it at once only repeat each other's work).

use std::time::Duration;

use crate::state::AppState;

/// How often the trash is emptied: a tenth of the retention, between a minute and an
/// hour, so a row never outlives its retention by much.
fn period(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(60), Duration::from_secs(3600))
}

/// Empties the trash now and then until the server stops.
pub async fn run(state: AppState) {
    let retention = state.config.tables.trash_retention;
    let stop = state.realtime.stop.clone();
    let mut ticks = tokio::time::interval(period(retention));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let Ok(retention) = chrono::Duration::from_std(retention) else {
            return;
        };
        let before = state.clock.now() - retention;
        match state.store.purge_trash(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "emptied the live tables' trash"),
            Err(error) => tracing::warn!(%error, "emptying the live tables' trash failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_follows_the_retention_within_bounds() {
        assert_eq!(
            period(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(3600)
        );
        assert_eq!(period(Duration::from_secs(1000)), Duration::from_secs(100));
        assert_eq!(period(Duration::from_secs(60)), Duration::from_secs(60));
    }
}
