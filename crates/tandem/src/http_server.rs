//! The HTTP/1.1 accept loop: serves the router on each connection (with upgrades, for
//! the WebSockets) and drains the connections on shutdown.
//!
//! Written here instead of calling `axum::serve` for one reason: axum serves through
//! hyper-util's protocol-sniffing builder, which wraps every connection in a private type,
//! so an upgraded connection can never be taken back as the `TcpStream` it is. Served by
//! hyper's own HTTP/1 connection, an upgrade downcasts to `TokioIo<TcpStream>`, and the
//! collaborative sockets run on the bare stream (docs/ARCHITECTURE.md, "Serving HTTP").

use std::net::SocketAddr;
use std::pin::pin;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Serves `router` on `listener` until `stop` is cancelled, then stops accepting, lets
/// each connection finish the request it is on, and returns once all have closed.
/// Upgraded connections are no longer waited for: their own tasks close them.
pub async fn serve(mut listener: TcpListener, router: Router, stop: CancellationToken) {
    // Every connection task holds a receiver; `closed` resolves when the last one ends.
    let (open, _) = watch::channel(());
    loop {
        let (stream, remote) = tokio::select! {
            // axum's `Listener` retries failed accepts (backing off on EMFILE and the like).
            accepted = Listener::accept(&mut listener) => accepted,
            () = stop.cancelled() => break,
        };
        // Realtime traffic is many small writes: Nagle's algorithm would hold each one that
        // follows an unacknowledged one for the peer's delayed ACK (up to 40 ms).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        tokio::spawn(connection(
            stream,
            remote,
            router.clone(),
            stop.clone(),
            open.subscribe(),
        ));
    }
    drop(listener);
    open.closed().await;
}

/// One connection, served until the client closes it, it upgrades, or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    router: Router,
    stop: CancellationToken,
    _open: watch::Receiver<()>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request)
    });
    let mut served = pin!(
        hyper::server::conn::http1::Builder::new()
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
