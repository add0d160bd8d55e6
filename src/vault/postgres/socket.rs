//! The team vault's TCP connection, opened here rather than by tokio-postgres so that it can
//! be watched. TCP keepalives and TCP_USER_TIMEOUT notice a network that drops packets without
//! a word, but not a peer whose kernel still acknowledges every byte while nothing answers (a
//! proxy or load balancer that hung, a server stuck behind one): to TCP that connection is
//! healthy. So the stream also carries an answer deadline: once keyway has written something,
//! the server must send some bytes back within `answer_within`, or the stream fails with
//! TimedOut, the connection ends and the statement waiting on it fails as unreachable (exit 7;
//! the TUI goes offline). An idle connection owes nothing and is never failed for its silence
//! (the change feed asks the server something now and then, see `ChangeFeed::next`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Opens the TCP connection within `connect_timeout`: Nagle off, keepalives well under the
/// system's two hours (10 s idle, then 5 s apart, 3 probes), and unacknowledged data given up
/// on after `answer_within`, like the answer deadline.
pub(super) async fn connect(
    host: &str,
    port: u16,
    connect_timeout: Duration,
    answer_within: Duration,
) -> io::Result<Watched<TcpStream>> {
    let stream = tokio::time::timeout(connect_timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))??;
    stream.set_nodelay(true)?;
    let socket = SockRef::from(&stream);
    socket.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(Duration::from_secs(10))
            .with_interval(Duration::from_secs(5))
            .with_retries(3),
    )?;
    #[cfg(target_os = "linux")]
    socket.set_tcp_user_timeout(Some(answer_within))?;
    Ok(Watched::new(stream, answer_within))
}

/// A stream with an answer deadline (see the module's comment).
pub(super) struct Watched<S> {
    inner: S,
    answer_within: Duration,
    /// Armed by a write while no answer is owed; cleared by any byte read.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Watched<S> {
    pub(super) fn new(inner: S, answer_within: Duration) -> Watched<S> {
        Watched {
            inner,
            answer_within,
            deadline: None,
        }
    }

    fn silent(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the server did not answer within {} s (vault.server_timeout_secs)",
                self.answer_within.as_secs()
            ),
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let expired = self
                    .deadline
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(self.silent()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && self.deadline.is_none() {
            let mut deadline = Box::pin(tokio::time::sleep(self.answer_within));
            // Polled once so the timer wakes this connection's task even when nothing else
            // does (the reader was polled, and went to sleep, before this write).
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(self.silent()));
            }
            self.deadline = Some(deadline);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_left_unanswered_fails_the_read_and_an_answer_clears_the_deadline() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut watched = Watched::new(ours, Duration::from_secs(5));
        let mut byte = [0u8; 1];
        // Idle: nothing owed, so silence is no failure.
        assert!(
            tokio::time::timeout(Duration::from_secs(60), watched.read(&mut byte))
                .await
                .is_err()
        );
        watched.write_all(b"ask").await.unwrap();
        theirs.write_all(b"!").await.unwrap();
        watched.read_exact(&mut byte).await.unwrap();
        // Answered: silence is again no failure.
        assert!(
            tokio::time::timeout(Duration::from_secs(60), watched.read(&mut byte))
                .await
                .is_err()
        );
        watched.write_all(b"ask again").await.unwrap();
        let e = watched.read(&mut byte).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("did not answer within 5 s"), "{e}");
    }
}
