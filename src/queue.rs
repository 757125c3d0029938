//! One queue for everything that reads or writes the log: work is done one piece at a time, in the order it
//! was asked for. A ticket lock rather than an async mutex from a crate: the order is the point, and the
//! common async mutexes (futures, async-lock) promise fairness, not strict first-come first-served.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Inner {
    next_ticket: Cell<u64>,
    serving: Cell<u64>,
    waiting: RefCell<BTreeMap<u64, Waker>>,
    /// Tickets whose wait was given up before their turn: their turn passes straight on.
    abandoned: RefCell<BTreeSet<u64>>,
}

impl Inner {
    /// Ends the turn being served and wakes the next one still waiting.
    fn pass_on(&self) {
        let mut next = self.serving.get() + 1;
        while self.abandoned.borrow_mut().remove(&next) {
            next += 1;
        }
        self.serving.set(next);
        let waker = self.waiting.borrow_mut().remove(&next);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Hands out turns in the order they were asked for.
#[derive(Clone, Default)]
pub struct Queue {
    inner: Rc<Inner>,
}

/// The right to work on the log until it is dropped; the next in line goes then.
pub struct Turn {
    inner: Rc<Inner>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.inner.pass_on();
    }
}

/// Waits for one turn.
pub struct WaitForTurn {
    inner: Rc<Inner>,
    ticket: u64,
    /// Set once the turn was handed out, so a second poll cannot take it twice.
    done: bool,
}

impl Future for WaitForTurn {
    type Output = Turn;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Turn> {
        if !self.done && self.inner.serving.get() == self.ticket {
            self.done = true;
            return Poll::Ready(Turn { inner: self.inner.clone() });
        }
        self.inner.waiting.borrow_mut().insert(self.ticket, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WaitForTurn {
    fn drop(&mut self) {
        // A wait given up before its turn came must not hold up the ones behind it.
        if !self.done {
            self.inner.waiting.borrow_mut().remove(&self.ticket);
            if self.inner.serving.get() == self.ticket {
                self.inner.pass_on();
            } else {
                self.inner.abandoned.borrow_mut().insert(self.ticket);
            }
        }
    }
}

impl Queue {
    /// Takes a ticket now (so the order is the order of calls) and waits for its turn.
    pub fn turn(&self) -> WaitForTurn {
        let ticket = self.inner.next_ticket.get();
        self.inner.next_ticket.set(ticket + 1);
        WaitForTurn { inner: self.inner.clone(), ticket, done: false }
    }

    /// How many pieces of work are running or waiting.
    pub fn len(&self) -> u64 {
        self.inner.next_ticket.get() - self.inner.serving.get()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
