//! What the user asks of the session (a command, an outbox change, generating, importing, replacing the log)
//! and what the page says of its answer. The session decides and stores; this only words the outcome.

use super::Ctx;
use leptos::prelude::*;
use crate::session::{Replacement, SessionError};
use rewind_domain::Command;

impl Ctx {
    /// Runs one piece of the session's work and shows its error, if any.
    pub(super) fn show<T>(&self, outcome: Result<T, SessionError>) -> Option<T> {
        match outcome {
            Ok(value) => Some(value),
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    /// Decides `command` against the live state, stores the event durably, and only then shows it.
    pub async fn submit(self, command: Command) {
        if self.on_branch() {
            return self.submit_to_branch(command);
        }
        let Some(session) = self.session() else { return };
        match session.submit(command).await {
            Err(kept @ SessionError::Kept { .. }) => self.tell(format!("Kept: {kept}.")),
            Err(SessionError::Elsewhere) => self.tell(format!("{}.", SessionError::Elsewhere)),
            outcome => {
                if self.show(outcome).is_some() {
                    self.error.set(None);
                    self.go_live();
                }
            }
        }
    }

    /// Drops a command from the outbox before it is sent.
    pub async fn cancel_pending(self, id: u64, key: rewind_store::CommandKey) {
        let Some(session) = self.session() else { return };
        match session.drop_from_outbox(id, &key, false).await {
            Ok(rewind_store::Changed::AlreadySent) => {
                self.fail("that command is being sent already, so it can no longer be cancelled: the server decides it once")
            }
            Ok(rewind_store::Changed::Gone) => self.tell("That command had already left the outbox (sent from another tab, or cancelled there)."),
            Ok(_) => self.tell("Cancelled: the command was never sent."),
            Err(e) => self.fail(format!("the command could not be cancelled: {e}")),
        }
    }

    /// Drops a refused command from the conflict inbox.
    pub async fn discard_refused(self, id: u64, key: rewind_store::CommandKey) {
        let Some(session) = self.session() else { return };
        if let Err(e) = session.drop_from_outbox(id, &key, true).await {
            self.fail(format!("the refused command could not be dropped: {e}"));
        }
    }

    /// Sends a refused command again, as the user changed it.
    pub async fn retry_refused(self, id: u64, key: rewind_store::CommandKey, command: Command) {
        let Some(session) = self.session() else { return };
        match session.retry_refused(id, &key, command).await {
            Ok(_) => {
                self.tell("Sent again: the server stored it.");
                self.go_live();
            }
            Err(kept @ SessionError::Kept { .. }) => self.tell(format!("Kept: {kept}.")),
            Err(e) => self.fail(format!("refused again: {e}")),
        }
    }

    /// Appends `count` events from the load producer.
    pub async fn generate(self, count: u64, people: crate::session::Population) {
        if self.refused_on_branch("Generating") {
            return;
        }
        if count == 0 {
            return self.fail("enter how many events to generate (at least 1)");
        }
        let Some(session) = self.session() else { return };
        if let Some(n) = self.show(session.generate(count, people).await) {
            self.tell(format!("Generated {n} events."));
            self.go_live();
        }
    }

    /// Imports a JSON Lines file through the session, which checks it completely and asks before replacing a
    /// non-empty log. Any error leaves the log as it was.
    pub async fn import(self, bytes: Vec<u8>, file_name: String) {
        if self.refused_on_branch("Importing") {
            return;
        }
        let Some(session) = self.session() else { return };
        self.error.set(None);
        self.notice.set(None);
        match session.import_file(bytes, &file_name).await {
            Ok(Replacement::Done(n)) => self.tell(format!("Imported {n} events from {file_name}.")),
            Ok(Replacement::Declined) => self.tell("Import cancelled: the log was not changed."),
            Err(e) => self.fail(format!("{file_name} was not imported: {e}")),
        }
    }

    /// Removes every event, after confirmation.
    pub async fn clear(self) {
        if self.refused_on_branch("Clearing") {
            return;
        }
        let Some(session) = self.session() else { return };
        match self.show(session.clear().await) {
            Some(Replacement::Done(_)) => self.tell("The log is empty."),
            Some(Replacement::Declined) => self.tell("Nothing was deleted."),
            None => {}
        }
    }

    /// Restores the shop as it was at the timeline's value, by compensating events, after confirmation.
    pub async fn restore_here(self) {
        if self.refused_on_branch("Restoring to a point") {
            return;
        }
        let Some(session) = self.session() else { return };
        let k = self.cursor.get_untracked();
        match self.show(session.restore_to(k).await) {
            Some(Replacement::Done(0)) => self.tell(format!("The shop already is as it was after event {k}.")),
            Some(Replacement::Done(n)) => {
                self.tell(format!("Restored the shop as it was after event {k}: {n} compensating events appended."));
                self.go_live();
            }
            Some(Replacement::Declined) => self.tell("Nothing was changed."),
            None => {}
        }
    }

    /// Replaces a damaged log by its intact events, after confirmation.
    pub async fn keep_intact(self) {
        if self.refused_on_branch("Keeping the intact events") {
            return;
        }
        let Some(session) = self.session() else { return };
        match self.show(session.keep_intact().await) {
            Some(Replacement::Done(n)) => self.tell(format!("The log now holds its {n} intact events.")),
            Some(Replacement::Declined) => self.tell("The stored log was not changed."),
            None => {}
        }
    }
}
