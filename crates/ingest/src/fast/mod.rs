//! Fast reading paths: a scanning reader for flat sign-in records that
//! builds no JSON tree, and the rule-derived prefilter that skips records
//! no rule can use before they are normalized.
//!
//! Both give exactly what the plain reading gives: the scanning reader
//! falls back to the full parse for anything it does not handle (see
//! [`flat`]), and a skipped record is counted as used like any other.

pub(crate) mod evtx;
pub(crate) mod files;
pub(crate) mod flat;
#[cfg(unix)]
pub(crate) mod par;
pub(crate) mod scan;

use crate::EventSink;
use crate::ctx::{Ctx, Flow};
use idrecon_core::{Event, EventKind, Timestamp};
use std::ops::ControlFlow;

/// Reads one NDJSON line the fast way; `None` when the full parse must
/// decide.
pub(crate) fn ndjson_line(ctx: &mut Ctx<'_>, text: &str, line_no: u64) -> Option<Flow> {
    let mut scratch = std::mem::take(&mut ctx.scratch);
    let flow = match flat::signin(text, &mut scratch, ctx.hint) {
        Err(scan::Bail) => None,
        Ok(s) => {
            let skip = ctx
                .prefilter
                .as_ref()
                .is_some_and(|p| !p.may_use(s.kind, s.table, s.result_code.as_deref()));
            if skip {
                ctx.note_used(s.kind, s.dialect, Some(s.family));
                ctx.sink.skipped(s.time, s.kind);
                Some(ControlFlow::Continue(()))
            } else {
                let (dialect, family) = (s.dialect, s.family);
                let ev = s.into_event(ctx.origin(line_no));
                Some(ctx.emit(ev, dialect, Some(family)))
            }
        }
    };
    ctx.scratch = scratch;
    flow
}

/// The counts a block adds to its file.
pub(crate) fn merge_stats(
    into: &mut idrecon_core::FileStats,
    from: idrecon_core::FileStats,
    base: u64,
) {
    into.read += from.read;
    into.used += from.used;
    into.rejected += from.rejected;
    for (k, v) in from.kinds {
        *into.kinds.entry(k).or_default() += v;
    }
    for mut r in from.rejects {
        if into.rejects.len() >= idrecon_core::stats::MAX_KEPT_REJECTS {
            break;
        }
        r.record += base;
        into.rejects.push(r);
    }
}

/// What a worker's sink collected, in order: the events themselves are
/// kept apart from the (small) order list, so that the many skipped
/// records of a block cost a few bytes each, not an event's size.
#[derive(Default)]
pub(crate) struct Collect {
    order: Vec<Out>,
    events: Vec<Event>,
}

/// One item of a [`Collect`]'s order.
enum Out {
    /// The next of the collected events.
    Event,
    Skipped(Timestamp, EventKind),
}

impl Collect {
    /// Hands everything collected to `sink` in order, each event first
    /// passed through `fix`.
    pub(crate) fn replay(self, sink: &mut dyn EventSink, mut fix: impl FnMut(&mut Event)) {
        let mut events = self.events.into_iter();
        for o in self.order {
            match o {
                Out::Event => {
                    if let Some(mut ev) = events.next() {
                        fix(&mut ev);
                        sink.event(ev);
                    }
                }
                Out::Skipped(t, k) => sink.skipped(t, k),
            }
        }
    }
}

impl EventSink for Collect {
    fn event(&mut self, ev: Event) {
        self.order.push(Out::Event);
        self.events.push(ev);
    }
    fn skipped(&mut self, time: Timestamp, kind: EventKind) {
        self.order.push(Out::Skipped(time, kind));
    }
}
