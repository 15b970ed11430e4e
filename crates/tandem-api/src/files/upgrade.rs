//! The collaborative socket's WebSocket handshake (RFC 6455, section 4.2), answered here
//! rather than by axum's `WebSocketUpgrade`, whose socket reaches the connection through
//! hyper's boxed upgraded I/O and its buffering layer on every read and write. Here the
//! upgraded connection is taken back as the `TcpStream` it is (the server's accept loop
//! serves HTTP/1 with hyper for this), for [`super::socket`] to split.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::ApiError;
use crate::http::stream::{Place, ServedStream};

/// How long the 101 answer may take to reach the client before the connection is
/// dropped (the request itself was read under the server's header timeout).
const HANDSHAKE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// An upgraded connection: the bare TCP stream, what the client sent after its
/// handshake that hyper had already read, and the connection's place under the
/// server's connection caps.
pub struct BareConnection {
    pub stream: TcpStream,
    pub read: Vec<u8>,
    pub place: Option<Place>,
}

/// A valid WebSocket opening handshake, to be answered with 101.
pub struct BareUpgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for BareUpgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let refuse =
            |detail: &str| ApiError::client(StatusCode::BAD_REQUEST, "websocket_expected", detail);
        if !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return Err(refuse(
                "this is a WebSocket endpoint: ask with `Connection: Upgrade` and `Upgrade: websocket`",
            ));
        }
        if !has_token(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(refuse("only WebSocket version 13 is spoken here"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| refuse("the `Sec-WebSocket-Key` header is missing"))?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or_else(|| refuse("this connection cannot be upgraded"))?;
        Ok(Self { key, on_upgrade })
    }
}

impl BareUpgrade {
    /// Answers 101 and, once the client has it, runs `callback` on the connection.
    /// Nothing runs if it is not a bare TCP stream (a server not started by `tandem`).
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(BareConnection) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Self { key, on_upgrade } = self;
        tokio::spawn(async move {
            let upgraded = match tokio::time::timeout(HANDSHAKE_DEADLINE, on_upgrade).await {
                Ok(Ok(upgraded)) => upgraded,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "the WebSocket upgrade failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("the WebSocket handshake did not complete in time");
                    return;
                }
            };
            let Ok(parts) = upgraded.downcast::<TokioIo<ServedStream>>() else {
                tracing::error!("an upgraded connection is not a served TCP stream; closing it");
                return;
            };
            callback(BareConnection::from(parts)).await;
        });
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::try_from(accept).expect("an accept key is base64, a valid header value"),
        );
        response
    }
}

impl From<hyper::upgrade::Parts<TokioIo<ServedStream>>> for BareConnection {
    /// Takes the stream and a copy of what hyper read ahead; the rest of hyper's parts,
    /// its read buffer among them, is dropped here rather than held by the socket's task
    /// for as long as the socket stays open.
    fn from(parts: hyper::upgrade::Parts<TokioIo<ServedStream>>) -> Self {
        let (stream, place) = parts.io.into_inner().into_parts();
        Self {
            read: parts.read_buf.to_vec(),
            stream,
            place,
        }
    }
}

/// Whether the comma-separated header `name` holds `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_lists_in_any_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(has_token(&headers, header::CONNECTION, "upgrade"));
        assert!(!has_token(&headers, header::CONNECTION, "close"));
        assert!(!has_token(&headers, header::UPGRADE, "websocket"));
    }
}
