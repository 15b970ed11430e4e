//! The HTTP/1.1 accept loop: serves the router on each connection (with upgrades, for
//! the WebSockets) under the connection caps and timeouts, and drains the connections on
//! shutdown.
//!
//! Written here instead of calling `axum::serve` for one reason: axum serves through
//! hyper-util's protocol-sniffing builder, which wraps every connection in a private type,
//! so an upgraded connection can never be taken back as the `TcpStream` it is. Served by
//! hyper's own HTTP/1 connection, an upgrade downcasts to our `ServedStream`, and the
//! collaborative sockets run on the bare stream (docs/ARCHITECTURE.md, "Serving HTTP").

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tandem_api::http::stream::ServedStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a whole request head, from opening or from the previous answer.
    pub header_timeout: Duration,
    /// The largest request line plus headers.
    pub max_header_bytes: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections one client address may hold at once (0: no limit).
    pub max_per_address: usize,
}

/// Refused connections being answered at once; past this a refused connection is simply
/// closed, so a flood of them cannot hold descriptors waiting for their answers.
const MAX_REFUSING: usize = 64;
/// How long a refused connection is given to take its answer.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, lets
/// each connection finish the request it is on, and returns once all have closed.
/// Upgraded connections are no longer waited for: their own tasks close them.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    // Every connection task holds a receiver; `closed` resolves when the last one ends.
    let (open, _) = watch::channel(());
    let census = Arc::new(Census::new(limits));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes);
    loop {
        let (stream, remote) = tokio::select! {
            // axum's `Listener` retries failed accepts (backing off on EMFILE and the like).
            accepted = Listener::accept(&mut listener) => accepted,
            () = stop.cancelled() => break,
        };
        let place = match census.admit(remote.ip()) {
            Ok(place) => place,
            Err(refusal) => {
                refuse(stream, refusal, &refusing);
                continue;
            }
        };
        // Realtime traffic is many small writes: Nagle's algorithm would hold each one that
        // follows an unacknowledged one for the peer's delayed ACK (up to 40 ms).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let stream = ServedStream::new(stream, Some(Box::new(place)));
        tokio::spawn(connection(
            stream,
            remote,
            router.clone(),
            builder.clone(),
            stop.clone(),
            open.subscribe(),
        ));
    }
    drop(listener);
    open.closed().await;
}

/// One connection, served until the client closes it, it upgrades, or the server stops.
async fn connection(
    stream: ServedStream,
    remote: SocketAddr,
    router: Router,
    builder: hyper::server::conn::http1::Builder,
    stop: CancellationToken,
    _open: watch::Receiver<()>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    let mut served = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    let outcome = tokio::select! {
        outcome = served.as_mut() => outcome,
        () = stop.cancelled() => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(error) = outcome {
        tracing::trace!(%error, %remote, "connection ended with an error");
    }
}

/// Why a connection was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Full,
    AddressFull,
}

/// The open connections, in all and by client address.
#[derive(Debug)]
struct Census {
    limits: ConnectionLimits,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// A connection's place in the census, given back when dropped.
#[derive(Debug)]
struct Admitted {
    census: Arc<Census>,
    address: IpAddr,
}

impl Census {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            open: Mutex::default(),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Refusal> {
        let mut counts = self.counts();
        if counts.total >= self.limits.max_connections {
            return Err(Refusal::Full);
        }
        let per_address = counts.by_address.entry(address).or_default();
        if self.limits.max_per_address > 0 && *per_address >= self.limits.max_per_address {
            return Err(Refusal::AddressFull);
        }
        *per_address += 1;
        counts.total += 1;
        Ok(Admitted {
            census: Arc::clone(self),
            address,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.census.counts();
        counts.total -= 1;
        if let Some(open) = counts.by_address.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

/// Answers a connection over the caps with a 503 problem and closes it. The answer goes
/// out before the request is read; the connection is then read (and discarded) briefly,
/// so that closing it does not reset it before the client has the answer.
fn refuse(mut stream: TcpStream, refusal: Refusal, refusing: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusing).try_acquire_owned() else {
        return;
    };
    tracing::debug!(?refusal, "refusing a connection over the caps");
    tokio::spawn(async move {
        let _permit = permit;
        let answer = refusal_answer(refusal);
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            stream.write_all(&answer).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            std::io::Result::Ok(())
        })
        .await;
    });
}

fn refusal_answer(refusal: Refusal) -> Vec<u8> {
    let detail = match refusal {
        Refusal::Full => "the server holds as many connections as it serves at once",
        Refusal::AddressFull => "your address holds as many connections as one address may",
    };
    let body = format!(
        r#"{{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"{detail}","code":"too_many_connections"}}"#
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nretry-after: 1\r\nx-request-id: {}\r\nconnection: close\r\n\r\n{body}",
        body.len(),
        uuid::Uuid::now_v7(),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_per_address: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            max_header_bytes: 8192,
            max_connections,
            max_per_address,
        }
    }

    #[test]
    fn the_census_caps_in_all_and_per_address_and_frees_places_when_dropped() {
        let census = Arc::new(Census::new(limits(3, 2)));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = census.admit(a).unwrap();
        let _second = census.admit(a).unwrap();
        assert_eq!(census.admit(a).unwrap_err(), Refusal::AddressFull);
        let third = census.admit(b).unwrap();
        assert_eq!(census.admit(b).unwrap_err(), Refusal::Full);
        drop(third);
        drop(first);
        let _again = census.admit(a).unwrap();
        let _other = census.admit(b).unwrap();
        assert_eq!(census.counts().total, 3);
    }

    #[test]
    fn no_per_address_limit_when_zero() {
        let census = Arc::new(Census::new(limits(10, 0)));
        let a: IpAddr = [10, 0, 0, 1].into();
        let places: Vec<_> = (0..10).map(|_| census.admit(a).unwrap()).collect();
        assert_eq!(census.admit(a).unwrap_err(), Refusal::Full);
        drop(places);
        assert!(census.counts().by_address.is_empty());
    }

    #[test]
    fn the_refusal_is_a_problem() {
        let answer = String::from_utf8(refusal_answer(Refusal::Full)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "too_many_connections");
    }
}
