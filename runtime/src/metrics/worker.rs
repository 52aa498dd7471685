//! A worker's counters: counted as plain integers by the worker itself
//! ([`WorkerStats`]), published now and then into atomics other threads read
//! ([`WorkerCells`]).
//!
//! The worker publishes before it parks and at every maintenance tick (every 61 task
//! polls), so a reader sees figures at most that far behind, and the hot path pays for an
//! increment of a field it owns, never for a shared cache line.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// What other threads read of one worker. Every field only grows, except the queue depth.
#[derive(Debug, Default)]
pub(crate) struct WorkerCells {
    polls: AtomicU64,
    steals: AtomicU64,
    parks: AtomicU64,
    busy_nanos: AtomicU64,
    /// The local queue's length at the last publish, for schedulers whose queue other
    /// threads cannot read (the current-thread one's sits in a thread-local while it runs).
    queue_depth: AtomicU64,
}

/// The worker's own running totals.
#[derive(Debug)]
pub(crate) struct WorkerStats {
    polls: u64,
    steals: u64,
    parks: u64,
    busy: Duration,
    /// When the current busy stretch began (the worker woke, or last published).
    busy_since: Instant,
}

impl WorkerCells {
    /// Task polls so far.
    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Relaxed)
    }

    /// Tasks taken from other workers' queues so far.
    pub(crate) fn steals(&self) -> u64 {
        self.steals.load(Relaxed)
    }

    /// Times the worker went to sleep so far.
    pub(crate) fn parks(&self) -> u64 {
        self.parks.load(Relaxed)
    }

    /// Time spent awake (running tasks, looking for them, polling the driver).
    pub(crate) fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load(Relaxed))
    }

    /// The local queue's length at the last publish.
    pub(crate) fn published_queue_depth(&self) -> usize {
        usize::try_from(self.queue_depth.load(Relaxed)).unwrap_or(usize::MAX)
    }
}

impl WorkerStats {
    pub(crate) fn new() -> WorkerStats {
        WorkerStats {
            polls: 0,
            steals: 0,
            parks: 0,
            busy: Duration::ZERO,
            busy_since: Instant::now(),
        }
    }

    /// Counts `n` task polls.
    #[inline]
    pub(crate) fn polled(&mut self, n: u64) {
        self.polls += n;
    }

    /// Counts `n` tasks taken from another worker.
    pub(crate) fn stole(&mut self, n: u64) {
        self.steals += n;
    }

    /// Ends a busy stretch and counts a park; publishes, so readers see the worker's
    /// figures while it sleeps.
    pub(crate) fn parking(&mut self, cells: &WorkerCells, queue_depth: usize) {
        self.parks += 1;
        self.publish(cells, queue_depth);
    }

    /// Starts a busy stretch.
    pub(crate) fn unparked(&mut self) {
        self.busy_since = Instant::now();
    }

    /// Adds the busy time so far and stores every total into `cells`.
    pub(crate) fn publish(&mut self, cells: &WorkerCells, queue_depth: usize) {
        let now = Instant::now();
        self.busy += now.saturating_duration_since(self.busy_since);
        self.busy_since = now;
        cells.polls.store(self.polls, Relaxed);
        cells.steals.store(self.steals, Relaxed);
        cells.parks.store(self.parks, Relaxed);
        let nanos = u64::try_from(self.busy.as_nanos()).unwrap_or(u64::MAX);
        cells.busy_nanos.store(nanos, Relaxed);
        cells.queue_depth.store(queue_depth as u64, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_moves_the_totals_and_the_busy_time_into_the_cells() {
        let cells = WorkerCells::default();
        let mut stats = WorkerStats::new();
        stats.polled(3);
        stats.polled(2);
        stats.stole(4);
        assert_eq!(
            (cells.polls(), cells.steals()),
            (0, 0),
            "nothing before a publish"
        );
        std::thread::sleep(Duration::from_millis(2));
        stats.parking(&cells, 7);
        assert_eq!((cells.polls(), cells.steals(), cells.parks()), (5, 4, 1));
        assert_eq!(cells.published_queue_depth(), 7);
        let busy = cells.busy();
        assert!(busy >= Duration::from_millis(2), "{busy:?}");
        // Asleep: the time until `unparked` is not busy time.
        let asleep = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        stats.unparked();
        stats.publish(&cells, 0);
        let awake_at_most = asleep.elapsed() - Duration::from_millis(20);
        assert!(cells.busy() - busy <= awake_at_most, "{:?}", cells.busy());
    }
}
