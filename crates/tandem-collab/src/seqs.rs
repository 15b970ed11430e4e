//! Which of a document's stored updates this node has applied, by seq. Seqs are gap-free
//! per file, so a gap means an update published by another node has not arrived (the bus
//! delivers at most once, and out of order across nodes) and must be read from storage.

use std::collections::BTreeSet;

/// Applied seqs: everything up to `watermark`, plus the ones above it seen so far.
#[derive(Debug, Default, Clone)]
pub struct Seqs {
    watermark: u64,
    above: BTreeSet<u64>,
}

impl Seqs {
    /// Everything up to `seq` has been applied (e.g. just loaded from storage).
    pub fn starting_at(seq: u64) -> Self {
        Self {
            watermark: seq,
            above: BTreeSet::new(),
        }
    }

    /// Records `seq` as applied; false if it already was.
    pub fn record(&mut self, seq: u64) -> bool {
        if seq <= self.watermark || !self.above.insert(seq) {
            return false;
        }
        while self.above.remove(&(self.watermark + 1)) {
            self.watermark += 1;
        }
        true
    }

    /// Everything up to `seq` has now been applied (read back from storage).
    pub fn fill_to(&mut self, seq: u64) {
        if seq > self.watermark {
            self.watermark = seq;
            self.above = self.above.split_off(&(seq + 1));
            while self.above.remove(&(self.watermark + 1)) {
                self.watermark += 1;
            }
        }
    }

    /// The highest seq below which nothing is missing.
    pub fn watermark(&self) -> u64 {
        self.watermark
    }

    /// Whether some update below a seen one is missing.
    pub fn has_gap(&self) -> bool {
        !self.above.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_seqs_move_the_watermark_and_duplicates_are_spotted() {
        let mut seqs = Seqs::starting_at(3);
        assert!(!seqs.record(2));
        assert!(seqs.record(4));
        assert!(!seqs.record(4));
        assert_eq!((seqs.watermark(), seqs.has_gap()), (4, false));
    }

    #[test]
    fn a_gap_stays_until_the_missing_seq_arrives_or_is_read_back() {
        let mut seqs = Seqs::default();
        seqs.record(1);
        seqs.record(3);
        seqs.record(5);
        assert_eq!((seqs.watermark(), seqs.has_gap()), (1, true));
        seqs.record(2);
        assert_eq!((seqs.watermark(), seqs.has_gap()), (3, true));
        seqs.fill_to(4);
        assert_eq!((seqs.watermark(), seqs.has_gap()), (5, false));
        seqs.fill_to(2);
        assert_eq!(seqs.watermark(), 5, "never backwards");
    }
}
