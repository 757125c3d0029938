//! A what-if branch as a session of its own, beside the real one ([`crate::session`]): the real log's first
//! events, then commands decided on the branch's live state, each one kept (saved with the branch) before it
//! is shown, as the real log's commands are stored before they are shown. Plain Rust: the context only
//! reflects what it answers into signals.

use crate::shop::{Shop, Source};
use rewind_domain::{decode_frames, encode_frames, Branch, Command, Event, Log, LogError, Rejection, State};
use rewind_store::{BranchDamaged, BranchShelf, SavedBranch, StoreError};
use std::fmt;

/// Where branches are kept: localStorage in the page ([`BranchShelf`]), memory in tests.
pub trait Shelf {
    fn names(&self) -> Result<Vec<String>, StoreError>;
    fn load(&self, name: &str) -> Result<Option<Result<SavedBranch, BranchDamaged>>, StoreError>;
    fn save(&self, branch: &SavedBranch) -> Result<(), StoreError>;
    fn delete(&self, name: &str) -> Result<(), StoreError>;
}

impl Shelf for BranchShelf {
    fn names(&self) -> Result<Vec<String>, StoreError> {
        BranchShelf::names(self)
    }
    fn load(&self, name: &str) -> Result<Option<Result<SavedBranch, BranchDamaged>>, StoreError> {
        BranchShelf::load(self, name)
    }
    fn save(&self, branch: &SavedBranch) -> Result<(), StoreError> {
        BranchShelf::save(self, branch)
    }
    fn delete(&self, name: &str) -> Result<(), StoreError> {
        BranchShelf::delete(self, name)
    }
}

/// Why a branch could not be started, opened, listed, changed or deleted.
#[derive(Debug)]
pub enum BranchError {
    /// The real log's history is still loading: there is no point to branch from yet.
    HistoryLoading,
    /// The real log's stored index is damaged: its epoch, which a branch is tied to, is unknown.
    DamagedIndex,
    /// A branch starts from a point of the real log, not from another branch.
    OnBranch,
    /// The real log is being changed: the work can be asked again in a moment.
    Busy,
    /// The branch's events could not be laid on the real log (a state or an event that does not fit).
    History { name: String, error: LogError },
    /// Its saved text is not one this page wrote.
    Damaged(BranchDamaged),
    /// There is no branch of that name (any more: another tab may have deleted it).
    Gone { name: String },
    /// It was made on a log that has since been replaced or cleared.
    Replaced { name: String },
    /// This browser refuses localStorage, where branches are kept.
    NoShelf,
    /// The branches kept in this browser could not be read.
    Unlisted(StoreError),
    /// The saved branch `name` could not be read.
    Unreadable { name: String, error: StoreError },
    /// The new branch could not be saved: it was not started.
    NotStarted(StoreError),
    /// The branch could not be saved: the command was not applied.
    NotSaved(StoreError),
    /// It could not be deleted.
    NotDeleted { name: String, error: StoreError },
    /// The command breaks a rule on the branch's state.
    Rejected(Rejection),
}

impl fmt::Display for BranchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BranchError::HistoryLoading => write!(f, "the history is still loading: start a branch once the timeline is ready"),
            BranchError::DamagedIndex => {
                write!(f, "the stored log's index is damaged: repair the log before branching from it")
            }
            BranchError::OnBranch => write!(f, "go back to main first: a branch starts from a point of the real log"),
            BranchError::Busy => write!(f, "the log is busy: try again in a moment"),
            BranchError::History { name, error } => write!(f, "branch {name} does not fit the real log: {error}"),
            BranchError::Damaged(damaged) => write!(f, "{damaged}"),
            BranchError::Gone { name } => write!(f, "there is no branch {name} any more (another tab may have deleted it)"),
            BranchError::Replaced { name } => write!(
                f,
                "branch {name} was made on a log that has since been replaced or cleared: it can only be deleted"
            ),
            BranchError::NoShelf => write!(f, "this browser refuses localStorage, where branches are kept"),
            BranchError::Unlisted(e) => write!(f, "the branches kept in this browser cannot be listed: {e}"),
            BranchError::Unreadable { name, error } => write!(f, "the saved branch {name} cannot be read: {error}"),
            BranchError::NotStarted(e) => write!(f, "it could not be saved: {e}"),
            BranchError::NotSaved(e) => write!(f, "the branch could not be saved, so the command was not applied: {e}"),
            BranchError::NotDeleted { name, error } => write!(f, "branch {name} was not deleted: {error}"),
            BranchError::Rejected(rejection) => write!(f, "{rejection}"),
        }
    }
}

impl std::error::Error for BranchError {}

/// A branch on screen: its log (the real log's first events, then its own), the view of it, and the epoch of
/// the real log it was made on.
pub struct BranchSession {
    branch: Branch,
    shop: Shop,
    epoch: u64,
}

impl BranchSession {
    /// Starts branch `name` after the first `base` events of the real log `main_log`, viewed by `main`,
    /// and keeps it on `shelf`.
    pub fn start(name: String, main: &Shop, main_log: &Log, base: u64, epoch: u64, shelf: &dyn Shelf) -> Result<Self, BranchError> {
        let history = |error| BranchError::History { name: name.clone(), error };
        let mut at_base = State::new();
        main.timeline.state_at(main_log, base, &mut at_base).map_err(history)?;
        let branch = Branch::start(name.clone(), main_log, base, at_base).map_err(history)?;
        let session = Self::on(branch, main, epoch).map_err(history)?;
        shelf.save(&session.saved()).map_err(BranchError::NotStarted)?;
        Ok(session)
    }

    /// The saved branch `name` from `shelf`, laid on the real log `main_log` of epoch `epoch`.
    pub fn open(name: &str, main: &Shop, main_log: &Log, epoch: u64, shelf: &dyn Shelf) -> Result<Self, BranchError> {
        let saved = shelf
            .load(name)
            .map_err(|error| BranchError::Unreadable { name: name.to_owned(), error })?
            .ok_or_else(|| BranchError::Gone { name: name.to_owned() })?
            .map_err(BranchError::Damaged)?;
        if saved.epoch != epoch {
            return Err(BranchError::Replaced { name: name.to_owned() });
        }
        let history = |error| BranchError::History { name: name.to_owned(), error };
        let chunks = decode_frames(&saved.frames).map_err(|_| BranchError::Damaged(BranchDamaged { name: name.to_owned() }))?;
        let branch = Branch::restore_from_chunks(saved.name.clone(), main_log, saved.base, &chunks).map_err(history)?;
        Self::on(branch, main, saved.epoch).map_err(history)
    }

    fn on(branch: Branch, main: &Shop, epoch: u64) -> Result<Self, LogError> {
        let shop = Shop::for_branch(main, branch.base, &branch_source(&branch))?;
        Ok(BranchSession { branch, shop, epoch })
    }

    pub fn name(&self) -> &str {
        &self.branch.name
    }

    pub fn base(&self) -> u64 {
        self.branch.base
    }

    pub fn branch(&self) -> &Branch {
        &self.branch
    }

    /// The branch's log and live state, as the view reads them.
    pub fn source(&self) -> Source<'_> {
        branch_source(&self.branch)
    }

    /// The view and the log it shows, to change the view (never the log).
    pub fn view_mut(&mut self) -> (&mut Shop, Source<'_>) {
        (&mut self.shop, branch_source(&self.branch))
    }

    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    /// Decides `command` on the branch's live state, saves the branch with its event, and only then applies
    /// it: a branch that cannot be saved is left as it was, with its name tables as they were.
    pub fn submit(&mut self, command: &Command, ts: u64, shelf: &dyn Shelf) -> Result<u64, BranchError> {
        let names_before = self.branch.log().names().checkpoint();
        let event = match self.branch.decide(command) {
            Ok(event) => event,
            Err(rejection) => {
                self.branch.roll_back_names(names_before);
                return Err(BranchError::Rejected(rejection));
            }
        };
        let (own, stamps) = self.branch.own();
        let (mut events, mut timestamps) = (own.to_vec(), stamps.to_vec());
        events.push(event);
        timestamps.push(ts);
        if let Err(e) = shelf.save(&self.saved_as(&events, &timestamps)) {
            self.branch.roll_back_names(names_before);
            return Err(BranchError::NotSaved(e));
        }
        if let Err(rejection) = self.branch.push(ts, event) {
            // Decided but refused on the way in (the rules disagree with themselves): what is shown is put back
            // on the shelf, so that the shelf never holds an event the page does not.
            self.branch.roll_back_names(names_before);
            shelf.save(&self.saved()).map_err(BranchError::NotSaved)?;
            return Err(BranchError::Rejected(rejection));
        }
        self.shop.log_grew(self.branch.log());
        Ok(self.branch.log().len())
    }

    /// What is kept of it: its base, the real log's epoch, its own events.
    pub fn saved(&self) -> SavedBranch {
        let (events, timestamps) = self.branch.own();
        self.saved_as(events, timestamps)
    }

    /// The branch as kept, with `events` as its own (its own so far, or those and one decided).
    fn saved_as(&self, events: &[Event], timestamps: &[u64]) -> SavedBranch {
        SavedBranch {
            name: self.branch.name.clone(),
            base: self.branch.base,
            epoch: self.epoch,
            frames: encode_frames(self.branch.log().names(), self.branch.base + 1, events, timestamps),
        }
    }
}

/// A branch's whole history is at hand from its start.
fn branch_source(branch: &Branch) -> Source<'_> {
    Source { log: branch.log(), live: branch.live(), history_ready: true }
}

/// The names of the branches on `shelf`, or why they cannot be read.
pub fn branch_names(shelf: Option<&dyn Shelf>) -> Result<Vec<String>, BranchError> {
    shelf.ok_or(BranchError::NoShelf)?.names().map_err(BranchError::Unlisted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_domain::{Command, Log, Rejection};
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// Branches in memory; `refuse` makes every write (or every read) fail as a full or locked storage would.
    #[derive(Default)]
    struct MemoryShelf {
        kept: RefCell<BTreeMap<String, SavedBranch>>,
        refuse_writes: bool,
        refuse_reads: bool,
    }

    impl Shelf for MemoryShelf {
        fn names(&self) -> Result<Vec<String>, StoreError> {
            if self.refuse_reads {
                return Err(StoreError::Read("SecurityError: the storage is locked".into()));
            }
            Ok(self.kept.borrow().keys().cloned().collect())
        }
        fn load(&self, name: &str) -> Result<Option<Result<SavedBranch, BranchDamaged>>, StoreError> {
            Ok(self.kept.borrow().get(name).cloned().map(Ok))
        }
        fn save(&self, branch: &SavedBranch) -> Result<(), StoreError> {
            if self.refuse_writes {
                return Err(StoreError::Write("QuotaExceededError: the storage is full".into()));
            }
            self.kept.borrow_mut().insert(branch.name.clone(), branch.clone());
            Ok(())
        }
        fn delete(&self, name: &str) -> Result<(), StoreError> {
            self.kept.borrow_mut().remove(name);
            Ok(())
        }
    }

    /// The real log: alice tops up 100, apples are stocked.
    fn main_log() -> (Log, Shop) {
        let mut log = Log::new();
        let mut live = State::new();
        for command in [
            Command::TopUp { user: "alice".into(), amount: 100 },
            Command::AddItem { item: "apple".into(), price: 30, qty: 2 },
        ] {
            let event = log.decide(&live, &command).unwrap();
            log.push(&mut live, 1, event).unwrap();
        }
        let mut shop = Shop::default();
        shop.reset(&Source { log: &log, live: &live, history_ready: true }).unwrap();
        (log, shop)
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn given_a_branch_when_a_command_is_decided_then_it_is_saved_before_it_is_shown() {
        let (log, shop) = main_log();
        let shelf = MemoryShelf::default();
        let mut branch = BranchSession::start("what-if-1".into(), &shop, &log, 2, 7, &shelf).unwrap();
        let seq = branch.submit(&Command::TopUp { user: "bob".into(), amount: 5 }, 2, &shelf).unwrap();
        assert_eq!(seq, 3);
        let reopened = BranchSession::open("what-if-1", &shop, &log, 7, &shelf).unwrap();
        assert_eq!(reopened.source().live.listing(reopened.source().log.names()).users.len(), 2, "bob is kept");
        assert!(matches!(BranchSession::open("what-if-1", &shop, &log, 8, &shelf), Err(BranchError::Replaced { .. })));
        assert!(matches!(BranchSession::open("what-if-2", &shop, &log, 7, &shelf), Err(BranchError::Gone { .. })));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn given_a_full_storage_when_a_command_is_decided_then_the_branch_is_left_as_it_was() {
        let (log, shop) = main_log();
        let shelf = MemoryShelf::default();
        let mut branch = BranchSession::start("what-if-1".into(), &shop, &log, 2, 7, &shelf).unwrap();
        let full = MemoryShelf { kept: RefCell::new(shelf.kept.borrow().clone()), refuse_writes: true, ..MemoryShelf::default() };
        let users_before = branch.branch().log().names().user_count();
        let refused = branch.submit(&Command::TopUp { user: "carol".into(), amount: 5 }, 2, &full);
        assert!(matches!(refused, Err(BranchError::NotSaved(_))), "{refused:?}");
        assert!(refused.unwrap_err().to_string().contains("the command was not applied"));
        assert_eq!(branch.source().log.len(), 2, "nothing applied");
        assert_eq!(branch.branch().log().names().user_count(), users_before, "carol's name was not kept either");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn given_a_branch_when_a_command_breaks_a_rule_then_it_is_refused_in_the_domains_words() {
        let (log, shop) = main_log();
        let shelf = MemoryShelf::default();
        let mut branch = BranchSession::start("what-if-1".into(), &shop, &log, 2, 7, &shelf).unwrap();
        let refused = branch.submit(&Command::Order { user: "alice".into(), item: "apple".into(), qty: 3 }, 2, &shelf);
        assert!(matches!(refused, Err(BranchError::Rejected(Rejection::OutOfStock { .. }))), "{refused:?}");
        assert_eq!(branch.source().log.len(), 2);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn given_storage_that_cannot_be_read_when_branches_are_listed_then_that_is_said_not_no_branches() {
        let locked = MemoryShelf { refuse_reads: true, ..MemoryShelf::default() };
        assert!(matches!(branch_names(Some(&locked)), Err(BranchError::Unlisted(_))));
        assert!(matches!(branch_names(None), Err(BranchError::NoShelf)));
        assert_eq!(branch_names(Some(&MemoryShelf::default())).unwrap(), Vec::<String>::new());
    }
}
