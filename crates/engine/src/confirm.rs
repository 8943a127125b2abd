//! Compact run state: confirming events as the engine keeps them, and the
//! interner that shares their repeated strings (and the rules' key values).
//!
//! A confirming event (a success that may confirm a probed account) is most
//! of what a large run holds — every success of a tenant, for every rule
//! that reads successes — yet the measures read only a few of its values.
//! [`Confirm`] keeps the instant, the record, and those values (the fields
//! the rules name for confirmations and completions, the details
//! `confirmed_signins` reports, and the fields of the canonical order),
//! each an interned `Arc<str>`: user names, addresses, apps and codes repeat
//! across events and rules, so they are stored once.

use idrecon_core::{Event, EventKind, Field, Origin, Timestamp};
use std::collections::HashSet;
use std::sync::Arc;

/// Read access to an event's fields, for the measures that look at both
/// probes ([`Event`]) and confirmations ([`Confirm`]).
pub(crate) trait Fields {
    /// The value of a field (`None`: absent).
    fn field(&self, f: Field) -> Option<&str>;
    /// The event time.
    fn at(&self) -> Timestamp;
}

impl<T: Fields + ?Sized> Fields for &T {
    fn field(&self, f: Field) -> Option<&str> {
        (**self).field(f)
    }
    fn at(&self) -> Timestamp {
        (**self).at()
    }
}

impl Fields for Event {
    fn field(&self, f: Field) -> Option<&str> {
        self.get(f)
    }
    fn at(&self) -> Timestamp {
        self.time
    }
}

/// Shares equal strings. Values only the interner still holds are dropped
/// by [`Interner::sweep`], so a long run does not keep every string it saw.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    set: HashSet<Arc<str>, foldhash::fast::RandomState>,
    /// Size after the last sweep (the next one runs at twice that).
    swept: usize,
}

impl Interner {
    /// The shared copy of `s`.
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }

    /// Drops the strings nothing else holds, when the set has doubled
    /// since the last sweep (amortised constant time per string).
    pub(crate) fn maybe_sweep(&mut self) {
        if self.set.len() > 2 * self.swept.max(4096) {
            self.set.retain(|a| Arc::strong_count(a) > 1);
            self.swept = self.set.len();
        }
    }
}

/// Fields every confirmation keeps: what `confirmed_signins` reports and
/// what the canonical order compares (the rules add theirs).
pub(crate) const KEPT: &[Field] = &[
    Field::User,
    Field::TargetUser,
    Field::ResultCode,
    Field::SourceIp,
    Field::App,
    Field::ResultDescription,
    Field::RequestId,
    Field::UserAgent,
    Field::Activity,
    Field::ResultReason,
    Field::Workstation,
    Field::EventId,
    Field::ClientApp,
    Field::AuthRequirement,
];

/// A confirming event. When some rule also keeps the event as a probe, the
/// confirmation shares it; otherwise it is a compact copy.
#[derive(Debug)]
pub(crate) enum Confirm {
    /// The event itself, held anyway as a probe of another rule.
    Shared(Arc<Event>),
    /// A compact copy.
    Compact(Compact),
}

/// A compact confirmation: instant, record, table and kind, and the kept
/// fields that are present (interned; request ids, unique per event, are
/// not).
#[derive(Debug)]
pub(crate) struct Compact {
    time: Timestamp,
    origin: Origin,
    table: &'static str,
    kind: EventKind,
    vals: Box<[(Field, Arc<str>)]>,
}

impl Confirm {
    /// The event time.
    pub(crate) fn time(&self) -> Timestamp {
        match self {
            Confirm::Shared(e) => e.time,
            Confirm::Compact(c) => c.time,
        }
    }

    fn origin(&self) -> Origin {
        match self {
            Confirm::Shared(e) => e.origin,
            Confirm::Compact(c) => c.origin,
        }
    }

    fn table(&self) -> &'static str {
        match self {
            Confirm::Shared(e) => e.table,
            Confirm::Compact(c) => c.table,
        }
    }
}

impl Compact {
    /// Keeps `fields` of `ev` (fields that are computed from others —
    /// `table`, `kind`, `source` — need not be listed).
    pub(crate) fn new(ev: &Event, fields: &[Field], interner: &mut Interner) -> Compact {
        let vals: Vec<(Field, Arc<str>)> = fields
            .iter()
            .filter_map(|&f| {
                let v = ev.get(f)?;
                Some((
                    f,
                    if f == Field::RequestId {
                        Arc::from(v)
                    } else {
                        interner.get(v)
                    },
                ))
            })
            .collect();
        Compact {
            time: ev.time,
            origin: ev.origin,
            table: ev.table,
            kind: ev.kind,
            vals: vals.into_boxed_slice(),
        }
    }
}

impl Fields for Confirm {
    fn field(&self, f: Field) -> Option<&str> {
        match self {
            Confirm::Shared(e) => e.get(f),
            Confirm::Compact(c) => c.field(f),
        }
    }
    fn at(&self) -> Timestamp {
        self.time()
    }
}

impl Fields for Compact {
    fn field(&self, f: Field) -> Option<&str> {
        match f {
            Field::Table => Some(self.table),
            Field::Kind => Some(self.kind.as_str()),
            Field::Source => self
                .field(Field::SourceIp)
                .or_else(|| self.field(Field::Workstation)),
            _ => self
                .vals
                .iter()
                .find(|(k, _)| *k == f)
                .map(|(_, v)| v.as_ref()),
        }
    }
    fn at(&self) -> Timestamp {
        self.time
    }
}

/// The canonical order of confirmations (the engine's order of events:
/// time, then content, then record), so that what a state cap keeps does
/// not depend on input order.
pub(crate) fn canonical_cmp(a: &Confirm, b: &Confirm) -> std::cmp::Ordering {
    let by = |f: Field| a.field(f).cmp(&b.field(f));
    a.time()
        .cmp(&b.time())
        .then_with(|| by(Field::User))
        .then_with(|| by(Field::TargetUser))
        .then_with(|| by(Field::ResultCode))
        .then_with(|| by(Field::SourceIp))
        .then_with(|| by(Field::App))
        .then_with(|| by(Field::ResultDescription))
        .then_with(|| by(Field::RequestId))
        .then_with(|| by(Field::UserAgent))
        .then_with(|| by(Field::Activity))
        .then_with(|| by(Field::ResultReason))
        .then_with(|| a.table().cmp(b.table()))
        .then_with(|| a.origin().cmp(&b.origin()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use idrecon_core::event::table;

    #[test]
    fn keeps_the_listed_fields_shared() {
        let t: Timestamp = "2024-05-01T10:00:00Z".parse().expect("ts");
        let mut e = Event::new(
            t,
            EventKind::EntraSignIn,
            table::SIGNIN_LOGS,
            Origin::default(),
        );
        e.user = Some("Ann@c.com".into());
        e.workstation = Some("WS1".into());
        e.user_agent = Some("ua".into());
        e.asn = Some("8075".into());
        e.request_id = Some("r1".into());
        let mut i = Interner::default();
        let a = Compact::new(&e, KEPT, &mut i);
        let b = Compact::new(&e, KEPT, &mut i);
        assert_eq!(a.field(Field::User), Some("Ann@c.com"));
        assert_eq!(
            a.field(Field::Source),
            Some("WS1"),
            "no address: the workstation"
        );
        assert_eq!(a.field(Field::Asn), None, "not kept");
        assert_eq!(a.field(Field::Table), Some(table::SIGNIN_LOGS));
        // Interned: one copy of the user for both; the canonical order sees
        // a compact copy and the event itself alike.
        let (Some(ua), Some(ub)) = (
            a.vals.iter().find(|x| x.0 == Field::User),
            b.vals.iter().find(|x| x.0 == Field::User),
        ) else {
            panic!("user kept")
        };
        assert!(Arc::ptr_eq(&ua.1, &ub.1));
        let shared = Confirm::Shared(Arc::new(e.clone()));
        let (a, b) = (Confirm::Compact(a), Confirm::Compact(b));
        assert_eq!(canonical_cmp(&a, &b), std::cmp::Ordering::Equal);
        assert_eq!(canonical_cmp(&a, &shared), std::cmp::Ordering::Equal);
        assert_eq!(shared.field(Field::UserAgent), Some("ua"));
    }

    #[test]
    fn the_interner_forgets_unused_strings() {
        let mut i = Interner::default();
        let keep = i.get("kept");
        for n in 0..10_000 {
            let _ = i.get(&format!("v{n}"));
        }
        assert_eq!(i.set.len(), 10_001);
        i.maybe_sweep();
        assert_eq!(i.set.len(), 1, "only the string still held elsewhere");
        assert!(Arc::ptr_eq(&i.get("kept"), &keep));
        // Below twice the last size (and the floor) nothing is swept.
        let _ = i.get("x");
        i.maybe_sweep();
        assert_eq!(i.set.len(), 2);
    }
}
