//! The connections the database verifiers open themselves (Redis, SFTP): a TCP connect bounded
//! by the connect timeout, and a read budget, so a server, hostile or broken, gets a fixed
//! number of bytes to answer a verification in, never an unbounded buffer.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::failure::NetFailure;
use super::{Finding, Limits};

/// A TCP connection to `host:port` within `limits.connect_timeout`, with Nagle off (a
/// verification is a few small request-answer turns); a failure is the finding that says why.
pub(crate) async fn connect_tcp(
    host: &str,
    port: u16,
    where_: &str,
    limits: Limits,
) -> Result<TcpStream, Finding> {
    let timeout_secs = limits.connect_timeout.as_secs();
    let tcp = match tokio::time::timeout(limits.connect_timeout, TcpStream::connect((host, port)))
        .await
    {
        Err(_) => return Err(NetFailure::Timeout.finding(where_, timeout_secs)),
        Ok(Err(e)) => return Err(NetFailure::from_chain(&e).finding(where_, timeout_secs)),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// The error a stream gives once its budget is spent, told apart from a network failure by
/// `spent`, so a verifier can say the server sent too much rather than "could not complete".
#[derive(Debug, thiserror::Error)]
#[error("the server sent more than a verification needs")]
pub(crate) struct BudgetSpent;

/// Whether `e` (or what it wraps) is a spent read budget.
pub(crate) fn spent(e: &std::io::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> =
        e.get_ref().map(|inner| inner as _);
    while let Some(err) = source {
        if err.is::<BudgetSpent>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// A stream that stops reading after a budget of bytes, so a hostile server cannot make a
/// protocol client buffer without end (each verifier says how much its protocol needs).
pub(crate) struct ReadBudget<S> {
    inner: S,
    left: usize,
}

impl<S> ReadBudget<S> {
    pub(crate) fn new(inner: S, budget: usize) -> ReadBudget<S> {
        ReadBudget {
            inner,
            left: budget,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadBudget<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(std::io::Error::other(BudgetSpent)));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.left = self.left.saturating_sub(read);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadBudget<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
