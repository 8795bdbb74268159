//! Sockets that check for data for a moment before their task sleeps.
//!
//! Between one message and the next a tokio task normally parks and its thread sleeps until
//! epoll reports the socket readable; on loopback that wake-up costs more than serving a
//! Modbus request. [`BusyPoll`] instead yields for up to its window (each yield lets the
//! runtime poll epoll without waiting, and other tasks run) and only then sleeps, so data
//! that arrives within the window is read by a thread that is still running. Live PLCs
//! wrap every connection in it after answering (`[live] busy_poll`: twice the requests/s
//! at one connection, +40 % at four, benches/live/run.sh with a client that sleeps), and
//! `otrange-loadgen --busy-poll` wraps its clients, so that its own wake-ups add little to
//! a fast server's round trip.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `T` whose reads busy-poll for up to `window` before waiting.
pub struct BusyPoll<T> {
    inner: T,
    window: Duration,
    /// When the read in progress first found nothing.
    since: Option<Instant>,
    /// The yield in progress: it completes after the runtime has polled epoll once.
    yielding: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<T> BusyPoll<T> {
    /// Wraps `inner`; a zero `window` never spins (reads wait at once, as unwrapped).
    pub fn new(inner: T, window: Duration) -> Self {
        BusyPoll {
            inner,
            window,
            since: None,
            yielding: None,
        }
    }

    /// The wrapped stream, e.g. to reset the connection.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BusyPoll<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(y) = this.yielding.as_mut() {
                if y.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.yielding = None;
            }
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Pending => {
                    let since = *this.since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= this.window {
                        // Sleep: the inner stream has registered the waker with epoll.
                        return Poll::Pending;
                    }
                    this.yielding = Some(Box::pin(tokio::task::yield_now()));
                }
                ready => {
                    this.since = None;
                    return ready;
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BusyPoll<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for BusyPoll<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusyPoll")
            .field("inner", &self.inner)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}
