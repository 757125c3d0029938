//! What an operator sees from outside (`GET /metrics`, Prometheus's text format): per shop, the commands
//! decided by kind and outcome, the decider's queue, the size of each group commit and how long Redis took
//! to store it, the pages listening, and the round trips to Redis with their failures.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShopLabel {
    shop: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    shop: String,
    kind: String,
    outcome: String,
}

type HistogramFamily = Family<ShopLabel, Histogram, fn() -> Histogram>;

fn group_sizes() -> Histogram {
    // 1, 2, 4, … 1,024 commands in one write.
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

fn commit_seconds() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Every metric of a copy; cloned handles write to the same values.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    commands: Family<CommandLabels, Counter>,
    waiting: Family<ShopLabel, Gauge>,
    groups: HistogramFamily,
    commits: HistogramFamily,
    pages: Family<ShopLabel, Gauge>,
    redis_requests: Family<ShopLabel, Counter>,
    redis_errors: Family<ShopLabel, Counter>,
    shops: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rewind");
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register("commands", "Commands the shop's decider answered, by kind and outcome (stored, stored_before, refused, failed)", commands.clone());
        let waiting = Family::<ShopLabel, Gauge>::default();
        registry.register("decider_waiting", "Commands waiting for the shop's decider on this copy", waiting.clone());
        let groups: HistogramFamily = Family::new_with_constructor(group_sizes);
        registry.register("group_commit_commands", "Commands decided together and stored in one write", groups.clone());
        let commits: HistogramFamily = Family::new_with_constructor(commit_seconds);
        registry.register("group_commit_seconds", "How long Redis took to store one group (its script and fsync)", commits.clone());
        let pages = Family::<ShopLabel, Gauge>::default();
        registry.register("open_pages", "Pages listening to the shop's feed on this copy", pages.clone());
        let redis_requests = Family::<ShopLabel, Counter>::default();
        registry.register("redis_requests", "Round trips to Redis for the shop", redis_requests.clone());
        let redis_errors = Family::<ShopLabel, Counter>::default();
        registry.register("redis_errors", "Round trips to Redis for the shop that failed", redis_errors.clone());
        let shops = Gauge::default();
        registry.register("shops_open", "Shops this copy has open", shops.clone());
        Metrics { registry: Arc::new(registry), commands, waiting, groups, commits, pages, redis_requests, redis_errors, shops }
    }

    /// The handles of one shop's metrics.
    pub fn shop(&self, shop: &str) -> ShopMetrics {
        let label = ShopLabel { shop: shop.to_owned() };
        ShopMetrics {
            shop: shop.to_owned(),
            commands: self.commands.clone(),
            waiting: self.waiting.get_or_create(&label).clone(),
            groups: self.groups.get_or_create(&label).clone(),
            commits: self.commits.get_or_create(&label).clone(),
            pages: self.pages.get_or_create(&label).clone(),
            redis: RedisMeter {
                requests: self.redis_requests.get_or_create(&label).clone(),
                errors: self.redis_errors.get_or_create(&label).clone(),
            },
        }
    }

    pub fn shop_opened(&self) {
        self.shops.inc();
    }

    /// Every metric in Prometheus's text format.
    pub fn text(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// One shop's metrics. Cheap to clone.
#[derive(Clone)]
pub struct ShopMetrics {
    shop: String,
    commands: Family<CommandLabels, Counter>,
    pub waiting: Gauge,
    pub groups: Histogram,
    pub commits: Histogram,
    pub pages: Gauge,
    pub redis: RedisMeter,
}

impl ShopMetrics {
    /// A command of `kind` answered with `outcome`.
    pub fn command(&self, kind: &str, outcome: &str) {
        let labels = CommandLabels { shop: self.shop.clone(), kind: kind.to_owned(), outcome: outcome.to_owned() };
        self.commands.get_or_create(&labels).inc();
    }
}

/// Round trips to Redis and their failures.
#[derive(Clone, Default)]
pub struct RedisMeter {
    pub requests: Counter,
    pub errors: Counter,
}
