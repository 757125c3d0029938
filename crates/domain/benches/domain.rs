//! `cargo bench -p rewind-domain`: the domain's figures on a 1,000,000-event log from the producer.
//! Targets (natively): apply ≥ 100 M events/s; JSON Lines decode ≥ 150 MB/s; binary chunk decode ≥ 50 M
//! events/s; prefix state p99 < 20 µs.

use criterion::{black_box, criterion_group, Criterion, Throughput};
use rewind_domain::{decode_chunk, encode_chunk, encode_jsonl, generate_log, ImportCheck, Log, Names, State, Timeline};
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
    group.bench_function("binary chunk decode", |b| {
        b.iter(|| {
            let mut names = Names::new();
            let (mut events, mut ts) = (Vec::with_capacity(N as usize), Vec::with_capacity(N as usize));
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

/// A tiny xorshift so the bench needs no extra dependency.
fn fastrand_like(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

criterion_group!(benches, domain);

fn main() {
    prefix_state_latency();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
