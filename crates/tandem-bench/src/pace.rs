//! A sender's schedule: a burst, or a fixed rate kept by sending each millisecond what
//! has come due since the start.

use std::time::{Duration, Instant};

use tokio::time::Interval;

#[derive(Debug)]
pub struct Pace {
    start: Instant,
    /// Per second; 0 sends everything at once.
    rate: u32,
    ticks: Interval,
}

impl Pace {
    pub fn new(rate: u32) -> Self {
        Self {
            start: Instant::now(),
            rate,
            ticks: tokio::time::interval(Duration::from_millis(1)),
        }
    }

    /// How many of `total` should have been sent by now; at a rate, waits for the next
    /// millisecond first.
    pub async fn due(&mut self, total: usize) -> usize {
        if self.rate == 0 {
            return total;
        }
        self.ticks.tick().await;
        let due = self.start.elapsed().as_secs_f64() * f64::from(self.rate);
        (due as usize + 1).min(total)
    }
}
