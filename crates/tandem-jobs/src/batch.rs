//! Group commit for the queue's hot writes (submissions, attempt endings): requests wait
//! here while the previous batch commits, then go to the database together in one
//! transaction. Nothing waits on purpose — a lone request is committed at once — but a
//! busy node pays one commit per batch instead of one per job, and on SQLite its writers
//! stop queueing for the write lock.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

/// Requests one batch takes at most (one transaction must stay short).
const MAX_BATCH: usize = 256;
/// Requests that may wait; past this, callers wait for room (backpressure).
const QUEUE: usize = 4096;

type Request<T, R> = (T, oneshot::Sender<R>);

/// A handle to a batching task; cloning shares the task.
#[derive(Debug)]
pub(crate) struct Batcher<T, R> {
    queue: mpsc::Sender<Request<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task on the current runtime; `commit` turns a batch into one answer per
    /// request, in order. The task ends when every handle is dropped.
    pub(crate) fn start<F, Fut>(commit: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send,
    {
        let (queue, mut pending) = mpsc::channel::<Request<T, R>>(QUEUE);
        let commit = Arc::new(commit);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (items, replies): (Vec<T>, Vec<oneshot::Sender<R>>) = batch.drain(..).unzip();
                let answers = commit(items).await;
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
        });
        Self { queue }
    }

    /// Queues `item` and waits for its answer; `None` if the task has stopped.
    pub(crate) async fn submit(&self, item: T) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).await.ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_requests_share_batches_and_each_gets_its_answer() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(move |items: Vec<u32>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(items.len());
                tokio::task::yield_now().await;
                items.into_iter().map(|n| n * 2).collect()
            }
        });
        let answers = futures::future::join_all((0..100).map(|n| {
            let batcher = batcher.clone();
            async move { batcher.submit(n).await }
        }))
        .await;
        assert_eq!(answers, (0..100).map(|n| Some(n * 2)).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(sizes.len() < 100, "some requests shared a batch: {sizes:?}");
    }
}
