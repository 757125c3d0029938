//! The shop's single writer on this copy (the LMAX pattern the design grew from): one task takes the
//! commands of every page in arrival order, decides them on the log it holds in memory, and stores the
//! events of all the commands that arrived while the previous write was in flight in one checked write
//! (group commit). Nothing waits on a lock but the batch; a page's command costs Redis a share of one
//! script and one fsync instead of a race for the stream's head.

use crate::metrics::ShopMetrics;
use crate::redis_log::CommandKey;
use crate::shared::{CommandError, Decision, SharedLog};
use rewind_domain::Command;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Commands that may wait for the decider on one copy; past them a page is told to send again shortly.
pub const MAX_WAITING: usize = 8_192;
/// Commands decided and written together at most: one script of this many events holds Redis for a few
/// milliseconds at most.
pub const MAX_BATCH: usize = 1_024;

type Answer = oneshot::Sender<Result<Decision, CommandError>>;

/// What one request put in the queue: one command, or several a page kept while the server was away, which go
/// into one batch whole, in their order.
struct Waiting {
    /// Each command with the keys of those after it in the same request, and who waits for its answer.
    commands: Vec<(CommandKey, Command, Vec<CommandKey>, Answer)>,
}

impl Waiting {
    fn starts_with_refund(&self) -> bool {
        matches!(self.commands.first(), Some((_, Command::Refund { .. }, _, _)))
    }
}

/// The way in to a shop's decider. Cheap to clone.
#[derive(Clone)]
pub struct Decider {
    queue: mpsc::Sender<Waiting>,
    /// Commands in the queue (a request may bring up to 64): bounded by [`MAX_WAITING`].
    waiting: Arc<AtomicUsize>,
    metrics: Option<ShopMetrics>,
}

impl Decider {
    /// Starts the decider of the shop `shared` holds.
    pub fn spawn(shared: SharedLog) -> (Self, JoinHandle<()>) {
        let (queue, taken) = mpsc::channel(MAX_WAITING);
        let metrics = shared.redis().metrics().cloned();
        let waiting = Arc::new(AtomicUsize::new(0));
        let run = run(shared, taken, Arc::clone(&waiting), metrics.clone());
        (Self { queue, waiting, metrics }, tokio::spawn(run))
    }

    /// Decides `command` and answers once its event is stored, or why not. A command whose request goes
    /// away meanwhile is decided all the same: its key tells the page's next request what became of it.
    pub async fn decide(&self, key: CommandKey, command: Command) -> Result<Decision, CommandError> {
        let mut decided = self.decide_together(vec![(key, command, Vec::new())]).await;
        decided.pop().unwrap_or(Err(CommandError::Failed))
    }

    /// Decides `commands` in their order, in one batch (each on the log after the ones before it), and answers
    /// each. A refund among them must come first: it is decided on the log it names (see [`run`]).
    pub async fn decide_together(&self, commands: Vec<(CommandKey, Command, Vec<CommandKey>)>) -> Vec<Result<Decision, CommandError>> {
        let kinds: Vec<&'static str> = commands.iter().map(|(_, c, _)| c.kind()).collect();
        let mut decisions = Vec::with_capacity(commands.len());
        let mut items = Vec::with_capacity(commands.len());
        for (key, command, later) in commands {
            let (answer, decision) = oneshot::channel();
            items.push((key, command, later, answer));
            decisions.push(decision);
        }
        let count = items.len();
        // Counted before they are sent: the decider may take them (and count them out) before `try_send` returns.
        let before = self.waiting.fetch_add(count, Ordering::SeqCst);
        if let Some(metrics) = &self.metrics {
            metrics.waiting.inc_by(count as i64);
        }
        let sent = if before + count > MAX_WAITING {
            Err(CommandError::Busy(MAX_WAITING))
        } else {
            self.queue.try_send(Waiting { commands: items }).map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => CommandError::Busy(MAX_WAITING),
                mpsc::error::TrySendError::Closed(_) => CommandError::ShuttingDown,
            })
        };
        let mut out = Vec::with_capacity(decisions.len());
        match sent {
            Ok(()) => {
                for decision in decisions {
                    out.push(decision.await.map_err(|_| CommandError::ShuttingDown).and_then(|decided| decided));
                }
            }
            Err(refused) => {
                self.waiting.fetch_sub(count, Ordering::SeqCst);
                if let Some(metrics) = &self.metrics {
                    metrics.waiting.dec_by(count as i64);
                }
                out.extend(decisions.iter().map(|_| Err(refused.clone())));
            }
        }
        if let Some(metrics) = &self.metrics {
            for (kind, decided) in kinds.into_iter().zip(&out) {
                let outcome = match decided {
                    Ok(Decision::Stored { .. }) => "stored",
                    Ok(Decision::StoredBefore { .. }) => "stored_before",
                    Ok(Decision::Refused { .. } | Decision::RefusedBefore { .. }) => "refused",
                    Err(_) => "failed",
                };
                metrics.command(kind, outcome);
            }
        }
        out
    }
}

/// One command of a batch with everyone waiting for it: requests of the same key share one decision.
struct Asked {
    key: CommandKey,
    command: Command,
    later: Vec<CommandKey>,
    answers: Vec<Answer>,
}

async fn run(shared: SharedLog, mut queue: mpsc::Receiver<Waiting>, waiting: Arc<AtomicUsize>, metrics: Option<ShopMetrics>) {
    let mut carried: Option<Waiting> = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match queue.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let mut batch: Vec<Asked> = Vec::new();
        let mut by_key: HashMap<CommandKey, usize> = HashMap::new();
        let mut taken = first.commands.len();
        add(&mut batch, &mut by_key, first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                // A refund reads the log's orders, which hold none of the batch's events: it starts the next
                // batch, decided on exactly the log it names. A request's commands go into one batch whole.
                Ok(next) if next.starts_with_refund() || batch.len() + next.commands.len() > MAX_BATCH => {
                    carried = Some(next);
                    break;
                }
                Ok(next) => {
                    taken += next.commands.len();
                    add(&mut batch, &mut by_key, next);
                }
                Err(_) => break,
            }
        }
        // What was carried over to start the next batch is counted with that batch.
        waiting.fetch_sub(taken, Ordering::SeqCst);
        if let Some(metrics) = &metrics {
            metrics.waiting.dec_by(taken as i64);
        }
        let asked: Vec<(CommandKey, Command, Vec<CommandKey>)> =
            batch.iter().map(|a| (a.key.clone(), a.command.clone(), a.later.clone())).collect();
        // In a task of its own: a bug that panics on one batch answers that batch and the decider goes on.
        let shared_shop = shared.redis().keys().shop.clone();
        let shared = shared.clone();
        let decided = tokio::spawn(async move { shared.decide_commands(&asked).await }).await;
        let decisions = match decided {
            Ok(decisions) => decisions,
            Err(join) if join.is_panic() => {
                tracing::error!(shop = %shared_shop, "deciding a batch of commands panicked (a bug of the server); they were answered 500");
                Err(CommandError::Failed)
            }
            Err(_) => Err(CommandError::ShuttingDown),
        };
        match decisions {
            Ok(decisions) => {
                for (asked, decision) in batch.into_iter().zip(decisions) {
                    answer_all(asked.answers, &Ok(decision));
                }
            }
            Err(error) => {
                let error = Err(error);
                for asked in batch {
                    answer_all(asked.answers, &error);
                }
            }
        }
    }
}

/// Adds a request to the batch, beside an earlier one of the same key if there is one (a page that sent
/// again before its first answer came): one decision for both.
fn add(batch: &mut Vec<Asked>, by_key: &mut HashMap<CommandKey, usize>, waiting: Waiting) {
    for (key, command, later, answer) in waiting.commands {
        match by_key.get(&key).and_then(|&ix| batch.get_mut(ix)) {
            Some(asked) => asked.answers.push(answer),
            None => {
                by_key.insert(key.clone(), batch.len());
                batch.push(Asked { key, command, later, answers: vec![answer] });
            }
        }
    }
}

fn answer_all(answers: Vec<Answer>, outcome: &Result<Decision, CommandError>) {
    let mut answers = answers.into_iter();
    if let Some(first) = answers.next() {
        let _ = first.send(outcome.clone());
    }
    // The others sent the same command again: it was stored (if it was) by the first.
    let again = match outcome {
        Ok(Decision::Stored { seq, mark }) => Ok(Decision::StoredBefore { seq: *seq, mark: *mark }),
        other => other.clone(),
    };
    for answer in answers {
        let _ = answer.send(again.clone());
    }
}
