//! Re-keying for horizontal scale: rules are grouped by their key fields,
//! and every event is routed, once per group that reads it, by the value of
//! that group's key. Equal keys always land on the same partition of the
//! repartition topic, so one consumer sees every event of a key.

use idrecon_core::Event;
use idrecon_core::text::normalize_user;
use idrecon_rules::Rule;

/// Rules that share key fields (one engine run per group and partition).
#[derive(Debug, Clone)]
pub struct KeyGroup {
    /// The key fields joined with `+` (e.g. `source_ip`, `source_subnet+user_agent`).
    pub name: String,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// Groups rules by key fields, in catalogue order of first appearance.
pub fn key_groups(rules: &[Rule]) -> Vec<KeyGroup> {
    let mut out: Vec<KeyGroup> = Vec::new();
    for r in rules {
        let name = r.key.iter().map(|f| f.name()).collect::<Vec<_>>().join("+");
        match out.iter_mut().find(|g| g.name == name) {
            Some(g) => g.rules.push(r.clone()),
            None => out.push(KeyGroup {
                name,
                rules: vec![r.clone()],
            }),
        }
    }
    out
}

/// The routing key of `ev` for a group, or `None` when no rule of the group
/// reads the event. Values are case-folded (coarser than or equal to the
/// engine's key, so equal engine keys route alike).
pub fn route_key(group: &KeyGroup, ev: &Event) -> Option<String> {
    let wanted = group
        .rules
        .iter()
        .any(|r| r.reads(ev) && (r.matches(ev) || r.confirms(ev)));
    if !wanted {
        return None;
    }
    let first = group.rules.first()?;
    let mut k = String::new();
    for (i, f) in first.key.iter().enumerate() {
        if i > 0 {
            k.push('\u{1f}');
        }
        if let Some(v) = ev.get(*f) {
            k.push_str(&normalize_user(v));
        }
    }
    Some(k)
}

/// Partition of a routing key (stable across processes and versions).
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % u64::from(partitions.max(1))) as u32
}
