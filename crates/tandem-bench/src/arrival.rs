//! A TCP stream that remembers when the kernel received what it last read
//! (`SO_TIMESTAMPNS`). On one machine, the bench's own sockets compete with the server
//! for the cores, and an observer may read a frame long after it arrived; the kernel's
//! receive time is when the server's write reached the observer, which is what an
//! observer on another machine would see. tokio's `TcpStream` has no `recvmsg`, so the
//! read side is done here with nix over tokio's readiness.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt::ReceiveTimestampns,
};
use nix::sys::time::TimeSpec;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// A `TcpStream` whose reads record the kernel's receive time of the data read.
#[derive(Debug)]
pub struct ArrivalStream {
    /// `None` while parked.
    inner: Option<TcpStream>,
    /// The socket while [parked](Self::park): out of tokio's epoll set.
    parked: Option<std::net::TcpStream>,
    /// Since the Unix epoch: when the newest segment of the last read arrived (none if
    /// the kernel did not stamp it).
    last: Option<Duration>,
    control: Vec<u8>,
}

impl ArrivalStream {
    pub fn new(inner: TcpStream) -> io::Result<Self> {
        setsockopt(&inner, ReceiveTimestampns, &true)?;
        Ok(Self {
            inner: Some(inner),
            parked: None,
            last: None,
            control: nix::cmsg_space!(TimeSpec),
        })
    }

    /// When the kernel received the newest data of the last read. Data read together
    /// carries one time, the latest, so a frame is never reported as earlier than it was.
    pub fn last_arrival(&self) -> Option<SystemTime> {
        self.last.map(|since| SystemTime::UNIX_EPOCH + since)
    }

    /// Takes the socket out of tokio's epoll set until [`unpark`](Self::unpark): data
    /// keeps arriving (and being stamped), but no one is woken for it. An observer on
    /// another machine costs the server's machine nothing when a frame reaches it; on
    /// loopback, a registered socket's arrival also wakes the bench's epoll, on the
    /// server's time and then on the bench's.
    pub fn park(&mut self) -> io::Result<()> {
        if let Some(inner) = self.inner.take() {
            self.parked = Some(inner.into_std()?);
        }
        Ok(())
    }

    /// Back in tokio's epoll set, for reading.
    pub fn unpark(&mut self) -> io::Result<()> {
        if let Some(parked) = self.parked.take() {
            self.inner = Some(TcpStream::from_std(parked)?);
        }
        Ok(())
    }

    fn registered(&mut self) -> io::Result<&mut TcpStream> {
        registered(&mut self.inner)
    }

    fn read_stamped(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let control = &mut self.control;
        let inner = registered(&mut self.inner)?;
        let fd = inner.as_raw_fd();
        let (read, stamp) = inner.try_io(Interest::READABLE, || {
            let mut slices = [io::IoSliceMut::new(buf)];
            let message = recvmsg::<()>(fd, &mut slices, Some(control), MsgFlags::MSG_DONTWAIT)?;
            let stamp = message.cmsgs()?.find_map(|cmsg| match cmsg {
                ControlMessageOwned::ScmTimestampns(at) => Some(Duration::from(at)),
                _ => None,
            });
            Ok((message.bytes, stamp))
        })?;
        if read > 0 {
            self.last = stamp;
        }
        Ok(read)
    }
}

/// The stream, unless it is parked.
fn registered(inner: &mut Option<TcpStream>) -> io::Result<&mut TcpStream> {
    inner
        .as_mut()
        .ok_or_else(|| io::Error::other("the socket is parked"))
}

impl AsyncRead for ArrivalStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.registered()?.poll_read_ready(cx))?;
            match this.read_stamped(buf.initialize_unfilled()) {
                Ok(read) => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for ArrivalStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().registered()?).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().registered()?).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().registered()?).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn reads_carry_the_kernels_receive_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = tokio::spawn(async move { TcpStream::connect(address).await.unwrap() });
        let (server, _) = listener.accept().await.unwrap();
        let mut client = client.await.unwrap();
        let mut stream = ArrivalStream::new(server).unwrap();
        assert!(stream.last_arrival().is_none());

        // The kernel turns receive stamping on a moment after the first socket asks (from
        // a work queue), so early data may come unstamped: try a few times.
        for _ in 0..20 {
            let before = SystemTime::now();
            client.write_all(b"hello").await.unwrap();
            // Read late: the stamp is when the bytes arrived, not when they were read.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut got = [0u8; 16];
            let read = stream.read(&mut got).await.unwrap();
            let after_read = SystemTime::now();
            assert_eq!(&got[..read], b"hello");
            let Some(arrived) = stream.last_arrival() else {
                continue;
            };
            assert!(arrived >= before - Duration::from_millis(1));
            assert!(after_read.duration_since(arrived).unwrap() >= Duration::from_millis(40));
            return;
        }
        panic!("no read carried a receive time");
    }
}
