//! The build's output as the classic builder streams it: JSON messages with `stream` text
//! (`Step 2/9 : RUN …`, ` ---> Running in …`, the RUN's own output, ` ---> 1f2a3b4c5d6e`),
//! `aux` (`{"ID": "sha256:…"}`) and pull progress.
//!
//! Independent stages run at the same time, but their output keeps the order of the
//! Dockerfile: the first unfinished stage streams live, later ones are held back until it
//! ends, so the stream reads as the sequential classic build.

use std::sync::{Arc, Mutex};

use api_types::JsonMessage;
use tokio::sync::mpsc;

/// The receiving end: one message per line of the response.
pub type Receiver = mpsc::UnboundedReceiver<JsonMessage>;

#[derive(Debug)]
struct Ordered {
    tx: mpsc::UnboundedSender<JsonMessage>,
    /// The stage slot that streams live.
    next: usize,
    /// Per stage slot: messages held back, and whether the stage is done.
    slots: Vec<(Vec<JsonMessage>, bool)>,
}

impl Ordered {
    fn emit(&mut self, slot: usize, m: JsonMessage) {
        if slot == self.next {
            let _ = self.tx.send(m);
        } else if let Some(s) = self.slots.get_mut(slot) {
            s.0.push(m);
        }
    }

    fn finish(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.1 = true;
        }
        while self.next < self.slots.len() {
            let (held, done) = std::mem::take(&mut self.slots[self.next]);
            for m in held {
                let _ = self.tx.send(m);
            }
            if !done {
                self.slots[self.next].1 = false;
                return;
            }
            self.slots[self.next].1 = true;
            self.next += 1;
        }
    }

    /// Sends everything held back, in order (the build stops).
    fn flush_all(&mut self) {
        for (held, _) in self.slots.iter_mut().skip(self.next) {
            for m in held.drain(..) {
                let _ = self.tx.send(m);
            }
        }
        self.next = self.slots.len();
    }
}

#[derive(Debug, Clone)]
enum Sink {
    Direct(mpsc::UnboundedSender<JsonMessage>),
    Stage(Arc<Mutex<Ordered>>, usize),
}

/// Where the build writes. Cheap to clone; usable from any thread.
#[derive(Debug, Clone)]
pub struct Output {
    sink: Sink,
    ordered: Option<Arc<Mutex<Ordered>>>,
}

impl Output {
    /// An output and the receiver of its messages.
    pub fn channel() -> (Output, Receiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Output {
                sink: Sink::Direct(tx),
                ordered: None,
            },
            rx,
        )
    }

    fn tx(&self) -> mpsc::UnboundedSender<JsonMessage> {
        match &self.sink {
            Sink::Direct(tx) => tx.clone(),
            Sink::Stage(o, _) => o.lock().unwrap_or_else(|e| e.into_inner()).tx.clone(),
        }
    }

    /// Prepares `n` stage slots; [`Output::stage`] hands out their outputs.
    pub(crate) fn with_stages(&self, n: usize) -> Output {
        let o = Arc::new(Mutex::new(Ordered {
            tx: self.tx(),
            next: 0,
            slots: (0..n).map(|_| (Vec::new(), false)).collect(),
        }));
        Output {
            sink: self.sink.clone(),
            ordered: Some(o),
        }
    }

    /// The output of stage slot `i` (see [`Output::with_stages`]).
    pub(crate) fn stage(&self, i: usize) -> Output {
        match &self.ordered {
            Some(o) => Output {
                sink: Sink::Stage(o.clone(), i),
                ordered: None,
            },
            None => self.clone(),
        }
    }

    /// Marks stage slot `i` finished, releasing what later stages held back.
    pub(crate) fn finish_stage(&self, i: usize) {
        if let Some(o) = &self.ordered {
            o.lock().unwrap_or_else(|e| e.into_inner()).finish(i);
        }
    }

    /// Sends everything the stages held back (before the error that ends the build).
    pub(crate) fn flush(&self) {
        if let Some(o) = &self.ordered {
            o.lock().unwrap_or_else(|e| e.into_inner()).flush_all();
        }
    }

    /// Sends one message.
    pub fn message(&self, m: JsonMessage) {
        match &self.sink {
            Sink::Direct(tx) => {
                let _ = tx.send(m);
            }
            Sink::Stage(o, i) => o.lock().unwrap_or_else(|e| e.into_inner()).emit(*i, m),
        }
    }

    /// `{"stream": text}`.
    pub fn stream(&self, text: impl Into<String>) {
        self.message(JsonMessage {
            stream: Some(text.into()),
            ..Default::default()
        });
    }

    /// A line of text (newline added).
    pub fn line(&self, text: impl std::fmt::Display) {
        self.stream(format!("{text}\n"));
    }

    /// `{"aux": value}`.
    pub fn aux(&self, value: serde_json::Value) {
        self.message(JsonMessage {
            aux: Some(value),
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rx: &mut Receiver) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(m) = rx.try_recv() {
            v.push(m.stream.unwrap_or_default());
        }
        v
    }

    #[test]
    fn later_stages_wait_for_earlier_ones() {
        let (out, mut rx) = Output::channel();
        let o = out.with_stages(3);
        let (a, b, c) = (o.stage(0), o.stage(1), o.stage(2));
        c.stream("c1");
        b.stream("b1");
        a.stream("a1");
        assert_eq!(text(&mut rx), ["a1"]);
        o.finish_stage(2);
        o.finish_stage(0);
        assert_eq!(text(&mut rx), ["b1"]);
        b.stream("b2");
        assert_eq!(text(&mut rx), ["b2"]);
        o.finish_stage(1);
        assert_eq!(text(&mut rx), ["c1"]);
    }

    #[test]
    fn flush_sends_what_is_held() {
        let (out, mut rx) = Output::channel();
        let o = out.with_stages(2);
        o.stage(1).stream("late");
        o.flush();
        assert_eq!(text(&mut rx), ["late"]);
    }
}
