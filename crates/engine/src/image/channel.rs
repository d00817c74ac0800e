//! A `Stream` over the receiving end of a tokio channel: how a blocking worker (save, load)
//! hands its output to an HTTP response body, with backpressure from the channel's bound.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

/// The items a worker sends, as a `Stream` that ends when the worker drops its sender.
pub struct ChannelStream<T>(pub(crate) mpsc::Receiver<T>);

impl<T> futures_util::Stream for ChannelStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}
