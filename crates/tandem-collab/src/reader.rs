//! A collaborative socket's inbound side: reads the client's WebSocket frames from the
//! socket's read half and yields whole messages, holding memory for a message only while
//! it is being read.
//!
//! Written by hand around tungstenite's header parser: tungstenite reads every frame into
//! one private buffer that grows to the largest message and keeps that size until the
//! connection closes, so a single 4 MiB paste would pin 4 MiB for as long as that editor
//! stays open. Here the read buffer has a fixed size; a payload that does not fit gets an
//! allocation of its own, read into directly and handed off whole.

use std::io::{self, Cursor};

use bytes::Bytes;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The read buffer, for frame headers and small frames. Keystroke updates and awareness
/// are tens of bytes, so most reads take several frames at once.
const BUFFER_BYTES: usize = 512;
/// The longest control-frame payload (RFC 6455, 5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// One message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Binary(Bytes),
    /// A text message; the y-protocol has none. Its payload is not kept.
    Text,
    /// A ping, to be answered with a pong carrying its payload.
    Ping(Bytes),
    Pong,
    /// The client's close, with its status code if it gave one.
    Close(Option<u16>),
}

/// Why the socket can be read no further.
#[derive(Debug, Error)]
pub enum ReadError {
    /// A message (or the frame that starts it) over the size limit; refused before its
    /// payload is read.
    #[error("a message of {size} bytes is over the limit of {limit}")]
    TooLarge { size: u64, limit: usize },
    /// The client broke the WebSocket protocol (close with 1002).
    #[error("WebSocket protocol error: {0}")]
    Protocol(&'static str),
    /// The connection broke, or ended inside a frame.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads client-to-server WebSocket frames (RFC 6455: masked, no extensions) from `S`.
#[derive(Debug)]
pub struct PeerReader<S> {
    socket: S,
    /// Bytes read but not yet taken: `buffer[start..end]`.
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// The frame being read.
    frame: Option<InFrame>,
    /// A fragmented data message: whether it is binary, and its payload so far.
    message: Option<(bool, Vec<u8>)>,
    max_message: usize,
}

/// A frame whose header has been read, with the part of its payload read so far.
#[derive(Debug)]
struct InFrame {
    opcode: OpCode,
    is_final: bool,
    mask: [u8; 4],
    length: usize,
    payload: Vec<u8>,
}

impl InFrame {
    fn remaining(&self) -> usize {
        self.length - self.payload.len()
    }
}

impl<S: AsyncRead + Unpin> PeerReader<S> {
    /// A reader of `socket`, which starts with the bytes `already` read past the opening
    /// handshake; messages over `max_message` bytes are refused.
    pub fn new(socket: S, already: &[u8], max_message: usize) -> Self {
        let mut buffer = vec![0; BUFFER_BYTES.max(already.len())].into_boxed_slice();
        buffer[..already.len()].copy_from_slice(already);
        Self {
            socket,
            buffer,
            start: 0,
            end: already.len(),
            frame: None,
            message: None,
            max_message,
        }
    }

    /// The next message; `None` once the client ended the connection between frames.
    ///
    /// Cancel-safe: everything read is kept in `self`, so a `select!` may drop the
    /// future and call again.
    pub async fn next(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            if let Some(incoming) = self.take_buffered()? {
                return Ok(Some(incoming));
            }
            // A payload larger than the buffer is read straight into its own allocation,
            // which holds exactly the rest of the frame (the buffer is empty by then).
            let direct = matches!(&self.frame, Some(f) if f.remaining() >= self.buffer.len());
            let read = match &mut self.frame {
                Some(frame) if direct => self.socket.read_buf(&mut frame.payload).await?,
                _ => {
                    self.compact();
                    self.socket.read(&mut self.buffer[self.end..]).await?
                }
            };
            if read == 0 {
                if self.frame.is_none() && self.message.is_none() && self.start == self.end {
                    return Ok(None);
                }
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            if !direct {
                self.end += read;
            }
        }
    }

    /// Moves what waits to the front of the buffer, making room to read. The buffer never
    /// fills: what waits when more is needed is part of a frame header (under 14 bytes),
    /// or nothing, with the rest of a small payload to come.
    fn compact(&mut self) {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        debug_assert!(self.end < self.buffer.len(), "the read buffer is full");
    }

    /// Parses what the buffer holds into frames, until a message is whole or more bytes
    /// are needed.
    fn take_buffered(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            if self.frame.is_none() {
                let mut cursor = Cursor::new(&self.buffer[self.start..self.end]);
                let parsed = FrameHeader::parse(&mut cursor)
                    .map_err(|_| ReadError::Protocol("invalid opcode"))?;
                let Some((header, length)) = parsed else {
                    return Ok(None);
                };
                self.start += usize::try_from(cursor.position()).expect("a header is short");
                self.frame = Some(self.begin(header, length)?);
            }
            let frame = self.frame.as_mut().expect("a frame is being read");
            let take = frame.remaining().min(self.end - self.start);
            frame
                .payload
                .extend_from_slice(&self.buffer[self.start..self.start + take]);
            self.start += take;
            if frame.remaining() > 0 {
                return Ok(None);
            }
            let frame = self.frame.take().expect("a frame is being read");
            if let Some(incoming) = self.finish(frame)? {
                return Ok(Some(incoming));
            }
        }
    }

    /// Checks a frame's header before any of its payload is read.
    fn begin(&self, header: FrameHeader, length: u64) -> Result<InFrame, ReadError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(ReadError::Protocol(
                "reserved bits set without an extension",
            ));
        }
        let Some(mask) = header.mask else {
            return Err(ReadError::Protocol("a client frame is not masked"));
        };
        match header.opcode {
            OpCode::Control(_) if !header.is_final || length > MAX_CONTROL_PAYLOAD => {
                return Err(ReadError::Protocol(
                    "a control frame is fragmented or too long",
                ));
            }
            OpCode::Data(Data::Continue) if self.message.is_none() => {
                return Err(ReadError::Protocol(
                    "a continuation with nothing to continue",
                ));
            }
            OpCode::Data(Data::Text | Data::Binary) if self.message.is_some() => {
                return Err(ReadError::Protocol("a new message inside a fragmented one"));
            }
            _ => {}
        }
        let so_far = self
            .message
            .as_ref()
            .map_or(0, |(_, payload)| payload.len());
        let size = length.saturating_add(so_far as u64);
        let length = usize::try_from(length)
            .ok()
            .filter(|_| size <= self.max_message as u64)
            .ok_or(ReadError::TooLarge {
                size,
                limit: self.max_message,
            })?;
        Ok(InFrame {
            opcode: header.opcode,
            is_final: header.is_final,
            mask,
            length,
            payload: Vec::with_capacity(length),
        })
    }

    /// A whole frame: the message it ends, or `None` if a fragmented one goes on.
    fn finish(&mut self, mut frame: InFrame) -> Result<Option<Incoming>, ReadError> {
        unmask(&mut frame.payload, frame.mask);
        let (binary, payload) = match frame.opcode {
            OpCode::Control(Control::Ping) => {
                return Ok(Some(Incoming::Ping(frame.payload.into())));
            }
            OpCode::Control(Control::Pong) => return Ok(Some(Incoming::Pong)),
            OpCode::Control(_) => return close_status(&frame.payload).map(Some),
            OpCode::Data(Data::Continue) => {
                let (binary, mut payload) = self.message.take().expect("checked in begin");
                payload.extend_from_slice(&frame.payload);
                (binary, payload)
            }
            OpCode::Data(data) => (data == Data::Binary, frame.payload),
        };
        if !frame.is_final {
            self.message = Some((binary, payload));
            return Ok(None);
        }
        Ok(Some(if binary {
            Incoming::Binary(payload.into())
        } else {
            Incoming::Text
        }))
    }
}

/// A close frame's status code (RFC 6455, 5.5.1 and 7.4).
fn close_status(payload: &[u8]) -> Result<Incoming, ReadError> {
    match payload {
        [] => Ok(Incoming::Close(None)),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            if !allowed || std::str::from_utf8(reason).is_err() {
                return Err(ReadError::Protocol("an invalid close frame"));
            }
            Ok(Incoming::Close(Some(code)))
        }
        [_] => Err(ReadError::Protocol("an invalid close frame")),
    }
}

/// Removes the client's mask (RFC 6455, 5.3), eight bytes at a time.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes((&*chunk).try_into().expect("eight bytes")) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

#[cfg(test)]
mod tests;
