//! `cargo bench -p rewind-domain`: the domain's figures on a 1,000,000-event log from the producer.
//! Targets (natively): apply ≥ 100 M events/s; JSON Lines decode ≥ 150 MB/s; binary chunk decode ≥ 50 M
//! events/s; prefix state p99 < 20 µs. History tools at 1,000,000 events and 100,000 users: starting a branch at
//! the middle well under 30 ms.

use criterion::{black_box, criterion_group, Criterion, Throughput};
use rewind_domain::{
    decode_chunk, diff, diff_across, diff_count, Command, encode_chunk, encode_jsonl, generate_log, BlameIndex, Branch, Entity, EntitySeries, ImportCheck, ItemId,
    FixedOffset, Log, Model, ModelDef, Names, Producer, Query, State, Timeline, UserId,
};
use std::time::{Duration, Instant};

const N: u64 = 1_000_000;
const CHUNK: usize = 2_000;

fn fixture() -> (Log, State) {
    match generate_log(1, N) {
        Ok(shop) => shop,
        Err(e) => {
            eprintln!("the producer failed: {e}");
            std::process::exit(1)
        }
    }
}

/// The scale of CONTRACT §8: a million events over 100,000 users (and 300 items).
fn crowd() -> (Log, State) {
    let (mut log, mut live) = (Log::new(), State::new());
    if let Err(e) = Producer::with_population(1, 100_000, 300).produce(&mut log, &mut live, N, 1_763_800_000_000) {
        eprintln!("the producer failed: {e}");
        std::process::exit(1)
    }
    (log, live)
}

fn chunks(log: &Log) -> Vec<Vec<u8>> {
    (0..log.len().div_ceil(CHUNK as u64))
        .map(|i| {
            let seq = i * CHUNK as u64 + 1;
            let (events, ts) = log.range(seq, CHUNK);
            encode_chunk(log.names(), seq, events, ts)
        })
        .collect()
}

fn domain(c: &mut Criterion) {
    let (log, _) = fixture();
    let mut group = c.benchmark_group("1M events");
    group.sample_size(10).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));

    group.throughput(Throughput::Elements(N));
    group.bench_function("apply (fold into a new state)", |b| {
        b.iter(|| {
            let mut state = State::new();
            for event in log.events() {
                if state.apply(log.names(), event).is_err() {
                    break;
                }
            }
            black_box(state.seq())
        })
    });

    let text = encode_jsonl(&log).into_bytes();
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("JSON Lines decode + validate (bytes)", |b| {
        b.iter(|| black_box(ImportCheck::new(text.clone()).finish().map(|(l, _)| l.len())))
    });

    let stored = chunks(&log);
    let stored_bytes: usize = stored.iter().map(Vec::len).sum();
    eprintln!(
        "fixture: {} bytes of JSON Lines ({:.1} per event); {} binary chunks, {} bytes ({:.1} per event, largest {})",
        text.len(),
        text.len() as f64 / N as f64,
        stored.len(),
        stored_bytes,
        stored_bytes as f64 / N as f64,
        stored.iter().map(Vec::len).max().unwrap_or(0)
    );
    group.throughput(Throughput::Elements(N));
    // Into columns that already hold a million events' room, as a log's do once it has grown: the figure is
    // the decoder's, not the kernel's first touch of 48 MB of fresh pages.
    let (mut events, mut ts) = (Vec::with_capacity(N as usize), Vec::with_capacity(N as usize));
    group.bench_function("binary chunk decode", |b| {
        b.iter(|| {
            let mut names = Names::new();
            events.clear();
            ts.clear();
            for chunk in &stored {
                let _ = decode_chunk(chunk, &mut names, &mut events, &mut ts);
            }
            black_box(events.len())
        })
    });
    let alice = log.names().user("alice").map(rewind_domain::Entity::User);
    if let Some(entity) = alice {
        group.bench_function("entity series build + downsample (one user, whole log)", |b| {
            b.iter(|| black_box(rewind_domain::EntitySeries::build(&log, entity).downsample(600).len()))
        });
    }
    group.finish();
}

fn prefix_state_latency() {
    let (log, _) = fixture();
    let started = Instant::now();
    let timeline = match Timeline::build(&log) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let built = started.elapsed();
    let mut rng = fastrand_like(12345);
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let k = rng() % (N + 1);
        // A fresh state each time: no help from the previous position.
        let mut out = State::new();
        let t = Instant::now();
        let _ = timeline.state_at(&log, k, &mut out);
        samples.push(t.elapsed());
        black_box(out.seq());
    }
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!(
        "prefix state at random k (1M events, checkpoints every {}): p50 {:.2?}, p99 {:.2?}, max {:.2?}; \
         timeline built in {:.2?}, {:.1} MB of checkpoints",
        rewind_domain::DEFAULT_INTERVAL,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        built,
        timeline.memory_bytes() as f64 / 1e6
    );
}

fn history(c: &mut Criterion) {
    let (log, live) = crowd();
    // Sparse checkpoints: at 100,000 users each one is 0.8 MB, and the benchmark needs only three states.
    let mut timeline = Timeline::new(16_384);
    let state_at = |timeline: &mut Timeline, k: u64| {
        let mut out = State::new();
        match timeline.catch_up(&log).and_then(|()| timeline.state_at(&log, k, &mut out)) {
            Ok(()) => out,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        }
    };
    let (then, now, middle) = (state_at(&mut timeline, 100_000), state_at(&mut timeline, 900_000), state_at(&mut timeline, N / 2));
    let (users, items) = (log.names().users_in_id_order(), log.names().items_in_id_order());
    let index = BlameIndex::build(&log);
    let busiest = |entities: Vec<Entity>| entities.into_iter().max_by_key(|e| index.events_of(*e).len());
    let (Some(busy_user), Some(busy_item)) = (
        busiest((0..log.names().user_count() as u32).map(|u| Entity::User(UserId(u))).collect()),
        busiest((0..log.names().item_count() as u32).map(|i| Entity::Item(ItemId(i))).collect()),
    ) else {
        return;
    };
    eprintln!(
        "history fixture: {} users, {} items; {} values differ between k = 100,000 and 900,000; blame index {:.1} MB; \
         busiest user {} events, busiest item {} events",
        now.users().count(),
        now.items().count(),
        diff_count(&then, &now),
        index.memory_bytes() as f64 / 1e6,
        index.events_of(busy_user).len(),
        index.events_of(busy_item).len(),
    );

    let mut group = c.benchmark_group("history, 1M events, 100k users");
    group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.bench_function("diff k=100,000 vs 900,000 (every value, in id order)", |b| {
        b.iter(|| black_box(diff(&then, &now, &users, &items).len()))
    });
    group.bench_function("diff count k=100,000 vs 900,000", |b| b.iter(|| black_box(diff_count(&then, &now))));
    let ask = |text: &str| match Query::parse(text) {
        Ok(q) => q.matcher(log.names(), &FixedOffset(0)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let by_type = ask("type:OrderPlaced");
    let by_fields = ask("qty>=3 -type:ItemAdded total>=500");
    group.bench_function("query type:OrderPlaced (whole log)", |b| b.iter(|| black_box(by_type.matching(1, log.events(), log.timestamps()).len())));
    group.bench_function("query qty>=3 -type:ItemAdded total>=500 (whole log)", |b| {
        b.iter(|| black_box(by_fields.matching(1, log.events(), log.timestamps()).len()))
    });
    let def = ModelDef::new("", "user", "sum", Some("total"), "type:OrderPlaced");
    if let Ok(def) = def {
        group.bench_function("read model: sum of total by user (whole log)", |b| {
            b.iter(|| {
                let mut model = Model::new(def.clone());
                black_box(model.fold(&log, &FixedOffset(0), N).ok())
            })
        });
    }
    group.bench_function("blame index build (whole log)", |b| b.iter(|| black_box(BlameIndex::build(&log).indexed())));
    group.bench_function("blame (busiest user, whole log)", |b| b.iter(|| black_box(index.blame(&log, busy_user, N).len())));
    group.bench_function("blame (busiest item, whole log)", |b| b.iter(|| black_box(index.blame(&log, busy_item, N).len())));
    group.bench_function("entity series from the index (busiest item)", |b| {
        b.iter(|| black_box(EntitySeries::from_index(&log, &index, busy_item).points.len()))
    });
    // Branches are dropped outside the timing: freeing one is paid when it is deleted, not when it starts.
    group.bench_function("branch start at 500,000 (state given)", |b| {
        b.iter_with_large_drop(|| Branch::start("what-if".into(), &log, N / 2, middle.clone()))
    });
    // The name tables stay shared until one side learns a name: a branch's first command copies them.
    let first = Command::TopUp { user: "alice".into(), amount: 1 };
    group.bench_function("branch start at 500,000 + its first command", |b| {
        b.iter_with_large_drop(|| {
            let mut branch = Branch::start("what-if".into(), &log, N / 2, middle.clone());
            if let Ok(branch) = &mut branch {
                black_box(branch.submit(&first, 0).is_ok());
            }
            branch
        })
    });
    if let Ok(branch) = Branch::start("what-if".into(), &log, N / 2, middle.clone()) {
        group.bench_function("diff across: real log's latest vs a branch at 500,000 (by name)", |b| {
            b.iter(|| black_box(diff_across((log.names(), &live), (branch.log().names(), branch.live())).len()))
        });
    }
    group.bench_function("branch restore at 500,000 (replays the base)", |b| {
        b.iter_with_large_drop(|| Branch::restore("what-if".into(), &log, N / 2, log.names(), &[], &[]))
    });
    group.finish();
}

/// A tiny xorshift so the bench needs no extra dependency.
fn fastrand_like(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

criterion_group!(benches, domain, history);

fn main() {
    prefix_state_latency();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
