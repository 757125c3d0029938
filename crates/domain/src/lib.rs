//! Rewind's shop domain: what a user may ask (commands), what happened (events), and the state that is the
//! fold of those events. Pure Rust, no I/O: the browser store and the app build on it.
//!
//! Speed is part of the design: user and item ids are interned to dense indices ([`Names`]), so applying an
//! event is a few array reads and checked additions.

mod calendar;
mod checkpoints;
mod chunk;
mod command;
mod entity;
mod event;
mod frames;
mod generate;
mod history;
mod jsonl;
mod log;
mod model;
mod money;
mod projections;
mod query;
mod names;
mod orders;
mod outline;
mod rejection;
mod restore;
mod snapshot;
mod state;
mod timeline;
mod wire;

pub use calendar::{civil_from_days, day_label, days_from_civil, hour_label, FixedOffset, LocalDateTime, LocalTime, DAY_MS, HOUR_MS};
pub use chunk::{chunk_info, decode_chunk, decode_chunk_strict, encode_chunk, ChunkError, ChunkInfo, MAX_CHUNK_EVENTS};
pub use command::{decide, Command};
pub use event::{Envelope, Event, EVENT_TYPES};
pub use frames::{decode_frames, encode_frames, push_frame, FrameError};
pub use generate::{generate_log, Producer};
pub use history::{diff, diff_across, diff_across_in_order, diff_count, BlameIndex, BlameLine, Branch, Difference};
pub use jsonl::{encode_jsonl, encode_jsonl_line, encode_jsonl_pieces, push_jsonl_line, ImportCheck, ImportError, ImportProgress};
pub use entity::{Change, ChangeField, Entity, EntityKind};
pub use log::{apply_chunk_tail, apply_chunk_tail_until, Log, LogError};
pub use orders::Orders;
pub use model::{describe, GroupBy, Measure, Model, ModelDef, ModelDefError, ModelError, MAX_MODEL_FILE, MAX_MODEL_NAME, MEASURED_FIELDS};
pub use money::{Money, Qty, MAX};
pub use names::{validate_id, IdError, ItemId, Names, NamesCheckpoint, UserId};
pub use outline::LogOutline;
pub use projections::{
    apply_with_changes, changes_at, Bucket, EntitySeries, LogFilter,
    ReadModels, Series,
    READ_MODEL_BUDGET, READ_MODEL_INTERVAL,
};
pub use query::{Clause, Comparison, Field, Matcher, Query, QueryError, Term, MAX_QUERY_LEN};
pub use rejection::Rejection;
pub use restore::compensate;
pub use snapshot::{decode_snapshot, encode_snapshot, SnapshotError};
pub use state::{Listing, State};
pub use wire::WireError;
pub use timeline::{Timeline, DEFAULT_INTERVAL, TIMELINE_BUDGET};
