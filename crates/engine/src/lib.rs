//! The idrecon detection engine.
//!
//! Build an [`Engine`] from resolved rules, open a [`Run`], [`Run::push`]
//! normalized events in any order, then [`Run::finish`] to get findings.
//! Batch hunting is a stream that ends: `watch` uses the same run state.
//!
//! Semantics per window kind:
//! - **lookback** (seed profile): one evaluation at `now` (given, or the
//!   latest event time seen): events with `time > now - length` — like KQL
//!   `TimeGenerated > ago(length)`, which also keeps events after `now`.
//! - **sliding** (recommended profile): for every event time `t`, the window
//!   is the events with `t - length < time <= t`; windows of one key that
//!   reach the threshold and overlap merge into one episode, reported once
//!   with episode totals and the peak window.

mod bucket;
mod confirm;
mod measure;
mod run;

pub use run::{FindingUpdate, RuleRunStats, Run, RunSummary, UpdateKind};

use idrecon_core::{Field, Timestamp};
use idrecon_rules::Rule;

/// Builder for an [`Engine`].
#[derive(Debug, Default)]
pub struct EngineBuilder {
    rules: Vec<Rule>,
    profile: String,
    now: Option<Timestamp>,
    evidence: usize,
    max_events_per_key: Option<usize>,
}

impl EngineBuilder {
    /// A builder with no rules, evaluation time from the data, 5 evidence
    /// records per finding.
    pub fn new() -> Self {
        EngineBuilder {
            evidence: 5,
            ..Default::default()
        }
    }

    /// The rules to run.
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// The profile name (controls seed-specific output and ordering).
    pub fn profile(mut self, profile: &str) -> Self {
        self.profile = profile.to_string();
        self
    }

    /// Evaluation time for lookback windows (default: latest event time).
    pub fn now(mut self, now: Option<Timestamp>) -> Self {
        self.now = now;
        self
    }

    /// How many contributing records each finding lists.
    pub fn evidence(mut self, n: usize) -> Self {
        self.evidence = n;
        self
    }

    /// State cap: the most events one key of one rule keeps (probes and
    /// confirming events each; at most twice that is held between
    /// trims). Past it the oldest are dropped and counted in
    /// [`RuleRunStats::evicted`] and [`RunSummary::evicted`]. The events
    /// kept are always the latest ones (by time, then content), whatever
    /// the input order, so findings stay deterministic; the counts of a
    /// key that lost events are lower bounds. Default: no limit.
    pub fn max_events_per_key(mut self, n: Option<usize>) -> Self {
        self.max_events_per_key = n.map(|n| n.max(1));
        self
    }

    /// The immutable engine.
    pub fn build(self) -> Engine {
        // What a confirmation keeps: the fixed details and canonical
        // fields, and every field a rule reads from confirmations.
        let mut confirm_fields: Vec<Field> = confirm::KEPT.to_vec();
        for r in &self.rules {
            let mut extra: Vec<Field> = Vec::new();
            if let Some(c) = &r.completed {
                extra.push(c.field);
            }
            if let Some(p) = &r.pivot {
                extra.push(p.collect);
            }
            extra.extend(r.measures.iter().filter_map(|m| m.field));
            extra.extend(r.key.iter().copied());
            for f in extra {
                if !confirm_fields.contains(&f) {
                    confirm_fields.push(f);
                }
            }
        }
        Engine {
            confirm_fields,
            rules: self.rules,
            profile: self.profile,
            now: self.now,
            evidence: self.evidence,
            max_events_per_key: self.max_events_per_key,
        }
    }
}

/// An immutable, shareable set of compiled rules.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Fields kept for confirming events.
    confirm_fields: Vec<Field>,
    rules: Vec<Rule>,
    profile: String,
    now: Option<Timestamp>,
    evidence: usize,
    max_events_per_key: Option<usize>,
}

impl Engine {
    /// Starts a run; `files` names the input files by `Origin::file` index
    /// (used in evidence).
    pub fn run(&self, files: Vec<String>) -> Run<'_> {
        Run::new(self, files)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// True when the seed profile's output conventions apply.
    pub fn is_seed(&self) -> bool {
        self.profile == "seed"
    }
}
