//! EVTX files: the reader of `idrecon-winlog` with this file's fast-path
//! settings — the `evtx` crate's threads only when the file is read by the
//! calling thread (files read on worker threads render on that thread),
//! and the EventID-first filter derived from the prefilter — and its notes
//! (failing checksums) turned into file notes, which strict mode makes an
//! error.

use crate::ctx::Ctx;
use idrecon_core::event::table;
use idrecon_core::{Event, EventKind, Field, Timestamp};
use idrecon_winlog::{EvtxOptions, EvtxSink};
use std::sync::Arc;

/// Reads the EVTX file held in `bytes` into `ctx`.
pub(crate) fn read(ctx: &mut Ctx<'_>, bytes: Vec<u8>) {
    let keep_event_id = ctx.prefilter.clone().map(|p| {
        Arc::new(move |event_id: &str| {
            p.may_use_known(EventKind::WindowsSecurity, table::SECURITY_EVENT, &|f| {
                (f == Field::EventId).then_some(Some(event_id))
            })
        }) as idrecon_winlog::KeepEventId
    });
    let opts = EvtxOptions {
        threads: ctx.threads,
        keep_event_id,
        direct: ctx.evtx_direct,
    };
    struct Sink<'s>(&'s mut dyn crate::EventSink);
    impl EvtxSink for Sink<'_> {
        fn event(&mut self, ev: Event) {
            self.0.event(ev);
        }
        fn skipped(&mut self, time: Timestamp) {
            self.0.skipped(time, EventKind::WindowsSecurity);
        }
    }
    let report = idrecon_winlog::read_evtx_with(
        bytes,
        ctx.index,
        &mut ctx.stats,
        &opts,
        &mut Sink(&mut *ctx.sink),
    );
    for note in report.notes {
        ctx.file_error(note);
    }
}
