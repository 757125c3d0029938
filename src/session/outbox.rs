//! The outbox on a shared log: a command is kept in this browser first (with the key that makes it exactly
//! once), then sent; the server's answer decides what becomes of it. While the server cannot be reached the
//! commands wait, in the order they were made, and are shown apart from the log; when it is back, one tab
//! at a time sends them, oldest first, each decided by the server on the log as it is then. One the log no
//! longer allows goes to the conflict inbox, in the page's own words, for the user to change and send again
//! or drop. Nothing here is applied to the log: the page shows a command's event only once the server
//! stored it, by reading the log like any other page's event.

use super::{still_unknown, Book, Session, SessionError, Update};
use rewind_domain::Command;
use rewind_store::{
    clock, Backoff, Changed, CommandKey, CommandOutcome, EntryState, Expected, LogChange, LogVersion, OutboxEntry, Pending,
    StoreError,
};
use std::collections::HashSet;
use std::rc::Rc;

/// The waits between tries while the server cannot be reached: the first and the longest.
const RETRY_FIRST_MS: u32 = 1_000;
const RETRY_MAX_MS: u32 = 30_000;
/// How often the page looks whether a try is due.
const TICK_MS: u32 = 250;
/// Commands marked as sent in one write, after the first of a round.
const MARK_GROUP: usize = 64;
/// How often a long round shows what it stored (drops it from the outbox shown, reads it into the log).
const SHOW_EVERY_MS: f64 = 500.0;

/// What the page shows of the outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxView {
    /// Every entry, oldest first: those waiting (or being sent), and those refused (the conflict inbox).
    pub entries: Vec<OutboxEntry>,
    /// Stored entries that could not be read, with why (never sent, never dropped unseen).
    pub damaged: Vec<String>,
    /// Why the waiting commands are not being sent, and when the page tries again (ms since the epoch).
    pub stalled: Option<Stall>,
    /// Why the outbox could not be read, if it could not.
    pub problem: Option<String>,
}

impl OutboxView {
    /// Commands that wait for the server (being sent included).
    pub fn waiting(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries.iter().filter(|e| !matches!(e.state, EntryState::Refused { .. }))
    }

    /// Commands the server refused after they waited.
    pub fn refused(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries.iter().filter(|e| matches!(e.state, EntryState::Refused { .. }))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    pub reason: String,
    pub retry_at: u64,
}

/// What a round of sending did.
enum Round {
    /// Everything sendable was sent.
    Done,
    /// The command asked about was answered: stored at its sequence number, or refused.
    Own(Result<u64, SessionError>),
    /// Sending stopped (the server cannot be reached, or the answer is still unknown): why.
    Stopped(String),
}

/// Where the refusal of the command a caller waits for goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// To the caller only (a click, answered at once: the form shows it).
    ToCaller,
    /// To the conflict inbox too (a command sent again from there).
    ToInbox,
}

/// One outcome of commands sent together, as a lone command's answer.
fn answer_of(outcome: CommandOutcome) -> Result<Option<u64>, StoreError> {
    match outcome {
        CommandOutcome::Stored { seq, .. } => Ok(Some(seq)),
        CommandOutcome::Refused { message, epoch, head } => Err(StoreError::Rejected { message, at: LogVersion { epoch, head } }),
    }
}

/// What one round has done so far.
struct Sent {
    /// Stored by the server, not yet dropped from the outbox: dropped (and shown) in groups.
    stored: Vec<(u64, CommandKey)>,
    stored_any: bool,
    /// Entries answered in this round (sent at most once per round).
    answered: HashSet<u64>,
    /// The caller's command's answer, once it came.
    own: Option<Result<u64, SessionError>>,
    shown_at: f64,
}

impl Default for Sent {
    fn default() -> Self {
        Sent { stored: Vec::new(), stored_any: false, answered: HashSet::new(), own: None, shown_at: f64::NEG_INFINITY }
    }
}

/// The outbox as the rest of the session reaches it: through functions that the shared log's module hands
/// over (`src/shared_log.rs`), so that what only they reach (the outbox's storage, sending and the server's
/// JSON) is code of that module, which a page on the browser's own log never fetches.
#[derive(Clone, Copy)]
pub struct Outboxing {
    show: for<'a> fn(&'a Session) -> Pending<'a, ()>,
    keep_sending: fn(&Rc<Session>),
    submit: for<'a> fn(&'a Session, &'a Command) -> Pending<'a, Result<u64, SessionError>>,
}

impl Outboxing {
    /// The outbox's functions, for a session on a shared log ([`Session::set_outboxing`]). Called only from
    /// the shared log's module (`src/shared_log.rs`) and tests: a call from the first module would bring the
    /// outbox, and all it reaches, back into it.
    pub fn here() -> Outboxing {
        Outboxing {
            show: |session| Box::pin(session.show_outbox()),
            keep_sending: Session::keep_sending,
            submit: |session, command| Box::pin(session.submit_through_outbox(command)),
        }
    }

    /// Reads the outbox again and tells the page.
    pub(super) async fn show(self, session: &Session) {
        (self.show)(session).await;
    }

    /// See `Session::keep_sending`.
    pub(super) fn keep_sending(self, session: &Rc<Session>) {
        (self.keep_sending)(session);
    }

    /// See `Session::submit_through_outbox`.
    pub(super) async fn submit(self, session: &Session, command: &Command) -> Result<u64, SessionError> {
        (self.submit)(session, command).await
    }
}

/// The outbox's part of the session: the view last shown and when to try again.
pub(super) struct Sending {
    view: OutboxView,
    backoff: Backoff,
    /// A round is wanted at once (the server is back, or a command was made here).
    wanted: bool,
}

impl Default for Sending {
    fn default() -> Self {
        Sending { view: OutboxView::default(), backoff: Backoff::new(RETRY_FIRST_MS, RETRY_MAX_MS), wanted: true }
    }
}

impl Session {
    /// Whether commands go through an outbox (a page on a shared log).
    pub fn has_outbox(&self) -> bool {
        self.store.outbox().is_some()
    }

    /// Reads the outbox again and tells the page.
    async fn show_outbox(&self) {
        let Some(outbox) = self.store.outbox() else { return };
        let listed = outbox.list().await;
        let view = {
            let mut sending = self.sending.borrow_mut();
            match listed {
                Ok(list) => {
                    sending.view.entries = list.entries;
                    sending.view.damaged = list.damaged;
                    sending.view.problem = None;
                }
                Err(e) => sending.view.problem = Some(e.to_string()),
            }
            sending.view.clone()
        };
        self.tell(Update::Outbox(view));
    }

    /// The outbox changed here: shows it, and tells the other tabs.
    async fn outbox_changed(&self) {
        self.show_outbox().await;
        self.announce(LogChange::Outbox);
    }

    /// Appends decided in the page (a restore, the generator) wait while commands made earlier wait in the
    /// outbox: those go to the server first, in the order they were made.
    pub(super) fn outbox_first(&self) -> Option<SessionError> {
        let waiting = self.sending.borrow().view.waiting().count();
        (waiting > 0).then_some(SessionError::OutboxFirst { waiting })
    }

    /// A command on a shared log: kept in the outbox, then sent with every command made before it. The
    /// command's own answer when the server gave one; [`SessionError::Kept`] when it waits in the outbox.
    async fn submit_through_outbox(&self, command: &Command) -> Result<u64, SessionError> {
        let Some(outbox) = self.store.outbox() else { return Err(SessionError::Store(StoreError::SharedLogKept)) };
        if let Some(damage) = self.damage() {
            return Err(damage);
        }
        let key = CommandKey::random()?;
        let made_at = self.clock.now_ms();
        let id = outbox.add(&key, command, made_at).await?;
        // Shown (here and in the other tabs) before this tab waits for its turn to send.
        self.kept(OutboxEntry { id, key, command: command.clone(), made_at, state: EntryState::Waiting });
        self.send_round(Some(id), Refused::ToCaller).await
    }

    /// A command just kept: in the view shown, and the other tabs told.
    fn kept(&self, entry: OutboxEntry) {
        let view = {
            let mut sending = self.sending.borrow_mut();
            sending.view.entries.push(entry);
            sending.view.clone()
        };
        self.tell(Update::Outbox(view));
        self.announce(LogChange::Outbox);
    }

    /// Sends again, changed, a command the server refused after it waited: the new one is kept first (under
    /// a new key), then the refused one is dropped, then it is sent; refused again, it is back in the inbox.
    pub async fn retry_refused(&self, id: u64, old_key: &CommandKey, command: Command) -> Result<u64, SessionError> {
        let turn = self.turn().await;
        let outcome = async {
            let Some(outbox) = self.store.outbox() else { return Err(SessionError::Store(StoreError::SharedLogKept)) };
            let key = CommandKey::random()?;
            let new_id = outbox.add(&key, &command, self.clock.now_ms()).await?;
            // Sent again already (a second click, another tab): the new copy goes, never twice.
            if outbox.discard(id, old_key).await? != Changed::Done {
                outbox.cancel(new_id, &key).await?;
                self.outbox_changed().await;
                return Err(SessionError::Elsewhere);
            }
            self.outbox_changed().await;
            self.send_round(Some(new_id), Refused::ToInbox).await
        }
        .await;
        self.turn_done(turn);
        outcome
    }

    /// Drops a refused command, or a waiting one never sent. `Changed::AlreadySent`: it is being sent and can
    /// no longer be cancelled.
    pub async fn drop_from_outbox(&self, id: u64, key: &CommandKey, refused: bool) -> Result<Changed, SessionError> {
        let Some(outbox) = self.store.outbox() else { return Ok(Changed::Gone) };
        let changed = if refused { outbox.discard(id, key).await? } else { outbox.cancel(id, key).await? };
        self.outbox_changed().await;
        Ok(changed)
    }

    /// One round: this tab takes its turn to send (one tab at a time), then sends every waiting command,
    /// oldest first, until one cannot be answered. `own`: the command the caller waits for.
    async fn send_round(&self, own: Option<u64>, refused: Refused) -> Result<u64, SessionError> {
        let round = self.send_waiting(own, refused).await;
        let result = match round {
            Round::Own(result) => {
                self.sending.borrow_mut().backoff.reset();
                self.sending.borrow_mut().view.stalled = None;
                result
            }
            Round::Done => {
                self.sending.borrow_mut().backoff.reset();
                self.sending.borrow_mut().view.stalled = None;
                Ok(self.book.borrow().head())
            }
            Round::Stopped(reason) => {
                let mut sending = self.sending.borrow_mut();
                // Only the page's own tries make the waits grow: a click while the server is away does not
                // put off the next try.
                let wait = if own.is_some() { RETRY_FIRST_MS } else { sending.backoff.next_ms() };
                let retry_at = self.clock.now_ms() + u64::from(wait);
                sending.view.stalled = Some(Stall { reason: reason.clone(), retry_at });
                Err(SessionError::Kept { waiting: 0, reason })
            }
        };
        self.outbox_changed().await;
        if let Err(SessionError::Kept { reason, .. }) = result {
            let waiting = self.sending.borrow().view.waiting().count();
            return Err(SessionError::Kept { waiting, reason });
        }
        result
    }

    async fn send_waiting(&self, own: Option<u64>, own_refused: Refused) -> Round {
        let Some(outbox) = self.store.outbox() else { return Round::Done };
        let _turn = match outbox.sending_turn().await {
            Ok(turn) => turn,
            Err(e) => return Round::Stopped(e.to_string()),
        };
        let mut sending = Sent::default();
        let round = 'rounds: loop {
            // What this round stored leaves the outbox before it is read again.
            // The caller's answer, once it came, is what the round says, whatever fails after it.
            if let Err(e) = self.forget_stored(&mut sending.stored).await {
                break sending.own.take().map_or(Round::Stopped(e), Round::Own);
            }
            let list = match outbox.list().await {
                Ok(list) => list,
                Err(e) => break sending.own.take().map_or(Round::Stopped(e.to_string()), Round::Own),
            };
            // Never twice in one round: an entry answered here and still listed (a write that failed) waits
            // for the next round.
            let sendable: Vec<OutboxEntry> = list
                .entries
                .iter()
                .filter(|e| !matches!(e.state, EntryState::Refused { .. }) && !sending.answered.contains(&e.id))
                .cloned()
                .collect();
            if let Some(result) = sending.own.take() {
                break Round::Own(result);
            }
            if sendable.is_empty() {
                let own_entry = own.and_then(|id| list.entries.iter().find(|e| e.id == id));
                break match (own, own_entry.map(|e| &e.state)) {
                    (None, _) => Round::Done,
                    (Some(_), Some(EntryState::Refused { message, .. })) => {
                        Round::Own(Err(SessionError::Store(StoreError::Refused { message: message.clone() })))
                    }
                    // Sent from another tab meanwhile, or cancelled there.
                    (Some(_), _) => {
                        let _ = self.catch_up().await;
                        Round::Own(Err(SessionError::Elsewhere))
                    }
                };
            }
            // One write marks a request's commands as sent before any of it goes out (see `next_request`).
            let mut rest = sendable.as_slice();
            let mut first = true;
            while !rest.is_empty() {
                let (batch, after) = rest.split_at(next_request(rest, first).min(rest.len()));
                rest = after;
                first = false;
                let to_mark: Vec<(u64, &CommandKey)> =
                    batch.iter().filter(|e| e.state == EntryState::Waiting).map(|e| (e.id, &e.key)).collect();
                let gone: HashSet<u64> = match to_mark.is_empty() {
                    true => HashSet::new(),
                    false => match outbox.mark_sent_all(&to_mark, batch.first().map_or(0, |e| e.id)).await {
                        Ok(marked) => {
                            // Other tabs stop offering to cancel them.
                            self.announce(LogChange::Outbox);
                            to_mark.iter().zip(marked).filter(|(_, c)| *c == Changed::Gone).map(|((id, _), _)| *id).collect()
                        }
                        Err(e) => break 'rounds Round::Stopped(e.to_string()),
                    },
                };
                let targets: Vec<&OutboxEntry> = batch.iter().filter(|e| !gone.contains(&e.id)).collect();
                if let Err(stop) = self.send_group(&targets, own, own_refused, &mut sending).await {
                    break 'rounds sending.own.take().map_or(Round::Stopped(stop), Round::Own);
                }
                if sending.own.is_some() {
                    // The caller's answer is in, and every answer of its group is applied: the rest waits for
                    // the next round.
                    break;
                }
            }
        };
        if let Err(e) = self.forget_stored(&mut sending.stored).await {
            clock::warn(&format!("Rewind: {e}"));
        }
        if sending.stored_any {
            self.read_back().await;
        }
        round
    }

    /// Sends `targets` (together when several: decided in their order in one group; alone when one, or when
    /// the server does not take them together), and applies every answer that came: stored ones are dropped
    /// in groups, refused ones go to the inbox (or to the caller). `Err`: why sending stopped.
    async fn send_group(&self, targets: &[&OutboxEntry], own: Option<u64>, own_refused: Refused, sending: &mut Sent) -> Result<(), String> {
        if self.store.outbox().is_none() {
            return Ok(());
        }
        let mut together: Vec<Result<Option<u64>, StoreError>> = Vec::new();
        let mut stopped = None;
        if targets.len() > 1 {
            let pairs: Vec<(CommandKey, Command)> = targets.iter().map(|e| (e.key.clone(), e.command.clone())).collect();
            match self.send_until_known(|| self.store.send_commands(&pairs), true).await {
                Ok((outcomes, stop)) => {
                    together = outcomes.into_iter().map(answer_of).collect();
                    if together.len() < targets.len() {
                        stopped = Some(stop.unwrap_or_else(|| "the server decided only some of them".into()));
                    }
                }
                Err(e) if still_unknown(&e).is_some() => return Err(e.to_string()),
                Err(_) => {}
            }
        }
        for (i, entry) in targets.iter().enumerate() {
            let is_own = own == Some(entry.id);
            let answer = match (together.get(i).cloned(), &stopped) {
                (Some(answer), _) => answer,
                (None, Some(why)) => return Err(why.clone()),
                // Alone: only while nothing of this group was answered yet, else in the next round.
                (None, None) if i == 0 || together.is_empty() && sending.own.is_none() => {
                    self.send_until_known(|| self.store.send_command(&entry.key, &entry.command), true).await
                }
                (None, None) => return Ok(()),
            };
            sending.answered.insert(entry.id);
            match answer {
                Ok(seq) => {
                    sending.stored.push((entry.id, entry.key.clone()));
                    sending.stored_any = true;
                    if is_own {
                        // Stored: the caller is told so even if the outbox cannot be updated (sent again, it
                        // is answered "stored before").
                        if let Err(e) = self.forget_stored(&mut sending.stored).await {
                            clock::warn(&format!("Rewind: {e}"));
                        }
                        self.read_back().await;
                        sending.own = Some(Ok(seq.unwrap_or_else(|| self.book.borrow().head())));
                    } else if self.clock.monotonic_ms() - sending.shown_at >= SHOW_EVERY_MS {
                        self.forget_stored(&mut sending.stored).await?;
                        self.read_back().await;
                        sending.shown_at = self.clock.monotonic_ms();
                    }
                }
                Err(StoreError::Rejected { message, at }) => {
                    let refusal = self.refusal_in_words(&entry.command, message, at).await;
                    let to_caller = is_own && own_refused == Refused::ToCaller;
                    self.settle_refusal(entry, is_own, to_caller, refusal, sending).await?;
                }
                Err(e) if still_unknown(&e).is_some() => return Err(e.to_string()),
                // Not a rule refusal (a request the server cannot read, a key it refuses): shown in the inbox
                // (or to the caller), never sent again by itself.
                Err(e) => self.settle_refusal(entry, is_own, is_own, SessionError::Store(e), sending).await?,
            }
        }
        Ok(())
    }

    /// A command the server refused: dropped from the outbox if its caller is told (`to_caller`), else kept in
    /// the conflict inbox with the refusal in words; the caller's answer if it is the caller's (`is_own`).
    async fn settle_refusal(&self, entry: &OutboxEntry, is_own: bool, to_caller: bool, refusal: SessionError, sending: &mut Sent) -> Result<(), String> {
        let Some(outbox) = self.store.outbox() else { return Ok(()) };
        let written = match to_caller {
            true => outbox.remove(entry.id, &entry.key).await,
            false => outbox.refuse(entry.id, &entry.key, &refusal.to_string(), self.clock.now_ms()).await,
        };
        written.map_err(|e| e.to_string())?;
        self.outbox_changed().await;
        if is_own {
            sending.own = Some(Err(refusal));
        }
        Ok(())
    }

    /// Drops the commands the server stored from the outbox and from the view shown, in one write. `Err`:
    /// they are still in the outbox (sent again, they are answered "stored before": nothing is doubled).
    async fn forget_stored(&self, stored: &mut Vec<(u64, CommandKey)>) -> Result<(), String> {
        let Some(outbox) = self.store.outbox() else { return Ok(()) };
        if stored.is_empty() {
            return Ok(());
        }
        let entries: Vec<(u64, &CommandKey)> = stored.iter().map(|(id, key)| (*id, key)).collect();
        let written = outbox.remove_all_stored(&entries).await;
        let gone: HashSet<u64> = stored.drain(..).map(|(id, _)| id).collect();
        written.map_err(|e| format!("stored, but the outbox could not be updated: {e}"))?;
        let view = {
            let mut sending = self.sending.borrow_mut();
            sending.view.entries.retain(|e| !gone.contains(&e.id));
            sending.view.clone()
        };
        self.tell(Update::Outbox(view));
        self.announce(LogChange::Outbox);
        Ok(())
    }

    /// The page reads the log up to what the server stored, like any other page's events.
    async fn read_back(&self) {
        if let Err(e) = self.catch_up().await {
            clock::warn(&format!("Rewind: stored, but not read back yet: {e}"));
        }
        self.announce(LogChange::Appended);
        self.snapshot_if_due(false);
    }

    /// A refusal in the domain's own type and words, decided again on the log it was refused on once the
    /// page has read it; else (the log moved on) in the server's words.
    pub(super) async fn refusal_in_words(&self, command: &Command, message: String, at: rewind_store::LogVersion) -> SessionError {
        let _ = self.catch_up().await;
        let mut book = self.book.borrow_mut();
        let Book { log, live, version, .. } = &mut *book;
        let again = (*version == Expected::Version(at)).then(|| {
            let names = log.names().checkpoint();
            let again = log.decide(live, command);
            log.names_mut().roll_back(names);
            again
        });
        match again {
            Some(Err(rejection)) => SessionError::Rejected(rejection),
            _ => SessionError::Store(StoreError::Rejected { message, at }),
        }
    }

    /// Sends what waits in the outbox whenever a try is due: when the server is back, when another tab kept
    /// a command, and after each failed round with capped, growing waits. Runs as long as the session.
    fn keep_sending(self: &Rc<Self>) {
        if !self.has_outbox() {
            return;
        }
        let weak = Rc::downgrade(self);
        let clock = self.clock.clone();
        clock::spawn(async move {
            loop {
                clock.sleep(TICK_MS).await;
                let Some(session) = weak.upgrade() else { return };
                if !session.round_due() {
                    continue;
                }
                session.sending.borrow_mut().wanted = false;
                let turn = session.turn().await;
                let _ = session.send_round(None, Refused::ToInbox).await;
                session.turn_done(turn);
            }
        });
    }

    /// Whether a round is due now: something waits, and it was asked for or its retry time has come.
    fn round_due(&self) -> bool {
        let sending = self.sending.borrow();
        let waiting = sending.view.waiting().next().is_some();
        let retry_due = sending.view.stalled.as_ref().is_none_or(|s| self.clock.now_ms() >= s.retry_at);
        waiting && (sending.wanted || retry_due)
    }

    /// Asks for a round at once (the server is back).
    pub(super) fn want_round(&self) {
        self.sending.borrow_mut().wanted = true;
    }
}

/// How many of `rest` (what waits, in order) go in the next request. Commands sent before (their answer was
/// lost) go again as they went, with the commands of their request and no others: the server then knows that
/// one of them not stored while a later one is was refused, and does not decide it again after the later one
/// (commands kept before requests were recorded go with every such command before them, up to a request's
/// size). Otherwise the first of a round goes alone (while the server is away, only it is marked sent), then
/// up to `MARK_GROUP` together. Never 0 for a non-empty `rest`.
fn next_request(rest: &[OutboxEntry], first: bool) -> usize {
    let in_request = |e: &OutboxEntry, r: Option<u64>| matches!(e.state, EntryState::Sent { request } if request == r);
    match rest.first().map(|e| &e.state) {
        Some(EntryState::Sent { request }) => rest.iter().take_while(|e| in_request(e, *request)).count().clamp(1, MARK_GROUP),
        _ if first => 1,
        _ => rest.iter().take(MARK_GROUP).take_while(|e| e.state == EntryState::Waiting).count().max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn entries(states: &[EntryState]) -> Vec<OutboxEntry> {
        states
            .iter()
            .enumerate()
            .filter_map(|(i, state)| {
                Some(OutboxEntry {
                    id: i as u64 + 1,
                    key: CommandKey::parse(&format!("key-{i:012}"))?,
                    command: Command::TopUp { user: "ann".into(), amount: 1 },
                    made_at: 0,
                    state: state.clone(),
                })
            })
            .collect()
    }

    fn sent(request: u64) -> EntryState {
        EntryState::Sent { request: Some(request) }
    }

    /// The sizes of the requests that send all of `rest`, one after another.
    fn requests(rest: &[OutboxEntry]) -> Vec<usize> {
        let (mut rest, mut first, mut sizes) = (rest, true, Vec::new());
        while !rest.is_empty() {
            let n = next_request(rest, first).min(rest.len());
            sizes.push(n);
            rest = &rest[n..];
            first = false;
        }
        sizes
    }

    #[wasm_bindgen_test]
    fn given_nothing_sent_before_when_sent_then_the_first_goes_alone_and_the_rest_in_requests_of_64() {
        let waiting = entries(&vec![EntryState::Waiting; 130]);
        assert_eq!(requests(&waiting), vec![1, 64, 64, 1]);
    }

    #[wasm_bindgen_test]
    fn given_two_requests_whose_answers_were_lost_when_sent_again_then_each_goes_with_its_own_commands_only() {
        // Request 1 (three commands) and request 4 (sixty): the second's commands never join the first's, even
        // where the two together would fit one request, nor the commands that were never sent.
        let mut states = vec![sent(1), sent(1), sent(1)];
        states.extend(vec![sent(4); 60]);
        states.extend(vec![EntryState::Waiting; 5]);
        assert_eq!(requests(&entries(&states)), vec![3, 60, 5]);
    }

    #[wasm_bindgen_test]
    fn given_commands_sent_before_requests_were_recorded_when_sent_again_then_they_go_together_up_to_a_requests_size() {
        let mut states = vec![EntryState::Sent { request: None }; 70];
        states.push(EntryState::Waiting);
        assert_eq!(requests(&entries(&states)), vec![64, 6, 1]);
    }
}
