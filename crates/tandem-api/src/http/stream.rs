//! The TCP stream one HTTP connection is served on, as an accept loop hands it to hyper.
//! It does two things hyper has no hook for:
//!
//! - It holds the connection's place under the server's connection caps for as long as
//!   the connection lives, upgraded to a WebSocket or not (an upgraded socket keeps its
//!   place through [`ServedStream::into_parts`]).
//! - It rewrites the bare answers hyper writes itself for a request it could not parse
//!   (400, 414 and 431, with no body and no `content-type`) into problem+json, so that
//!   every refusal a client gets names its `code`. Only a write that starts with such a
//!   head is touched; the application's own errors always carry a body (the
//!   problem+json safety net sees to that), so they never match.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Whatever an accept loop keeps alive with a connection (its count under the caps).
pub type Place = Box<dyn Send + Sync>;

/// A served TCP connection.
pub struct ServedStream {
    stream: TcpStream,
    place: Option<Place>,
    /// A problem+json answer standing in for hyper's bare one, while it is written.
    replacing: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// How many of hyper's bytes it stands for (reported to hyper once written).
    stands_for: usize,
}

impl std::fmt::Debug for ServedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedStream")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl ServedStream {
    /// `place` is dropped when the connection is.
    pub fn new(stream: TcpStream, place: Option<Place>) -> Self {
        Self {
            stream,
            place,
            replacing: None,
        }
    }

    /// The bare stream and its place, for a socket that takes the connection over.
    pub fn into_parts(self) -> (TcpStream, Option<Place>) {
        (self.stream, self.place)
    }

    fn write_slices(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none()
            && let Some(first) = bufs.iter().find(|buf| !buf.is_empty())
            && let Some(replacement) = replacement_for(first)
        {
            self.replacing = Some(replacement);
        }
        let Some(replacement) = &mut self.replacing else {
            return Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        };
        while replacement.written < replacement.bytes.len() {
            let rest = &replacement.bytes[replacement.written..];
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            replacement.written += n;
        }
        let stands_for = replacement.stands_for;
        self.replacing = None;
        Poll::Ready(Ok(stands_for))
    }
}

/// The problem+json answer for hyper's bare answer at the start of `written`, if it is
/// one.
fn replacement_for(written: &[u8]) -> Option<Replacement> {
    let rest = written.strip_prefix(b"HTTP/1.1 ")?;
    let status = rest.get(..3)?;
    let (status, code, detail) = match status {
        b"400" => (
            "400 Bad Request",
            "malformed_request",
            "the request is not valid HTTP/1.1",
        ),
        b"414" => (
            "414 URI Too Long",
            "uri_too_long",
            "the request target is longer than the server reads (64 KiB)",
        ),
        b"431" => (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "the request line and headers are larger than the server reads (http_max_header_bytes)",
        ),
        _ => return None,
    };
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = &written[..head_end];
    let has_content_type = head
        .split(|&b| b == b'\n')
        .any(|line| line.to_ascii_lowercase().starts_with(b"content-type:"));
    if has_content_type {
        return None;
    }
    let status_code = &status[..3];
    let body = format!(
        r#"{{"type":"about:blank","title":"{title}","status":{status_code},"detail":"{detail}","code":"{code}"}}"#,
        title = &status[4..],
    );
    let bytes = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nx-request-id: {}\r\nconnection: close\r\n\r\n{body}",
        body.len(),
        uuid::Uuid::now_v7(),
    )
    .into_bytes();
    Some(Replacement {
        bytes,
        written: 0,
        stands_for: head_end,
    })
}

impl AsyncRead for ServedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_slices(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_answers_become_problems() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 15:00:00 GMT\r\n\r\n";
        let replacement = replacement_for(bare).expect("replaced");
        assert_eq!(replacement.stands_for, bare.len());
        let text = String::from_utf8(replacement.bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(text.contains("content-type: application/problem+json\r\n"));
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "headers_too_large");
        assert_eq!(problem["status"], 431);
        let length = format!("content-length: {}\r\n", body.len());
        assert!(text.contains(&length));
    }

    #[test]
    fn the_applications_answers_pass_untouched() {
        let own = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement_for(own).is_none());
        assert!(replacement_for(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
        assert!(replacement_for(b"{\"HTTP/1.1 400\"}").is_none());
    }
}
