//! Export shapes: which log families each one carries and what a family
//! falls back to when a shape does not carry it.

use std::fmt;
use std::str::FromStr;

/// An input shape idrecon reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// Log Analytics rows as NDJSON: SigninLogs, AADNonInteractiveUserSignInLogs
    /// (dynamic columns as JSON text), AuditLogs, SecurityEvent.
    LaNdjson,
    /// The same rows as one JSON array per table.
    LaJson,
    /// Microsoft Graph pages (`{"value":[…]}`, newest first): signIns, directoryAudits.
    Graph,
    /// Azure Monitor diagnostic-settings export (`{"records":[…]}`).
    AzMon,
    /// Entra portal download: sign-ins as CSV, audit logs as the portal's JSON.
    PortalCsv,
    /// Windows event XML (wevtutil).
    Xml,
    /// Winlogbeat / Elastic Agent ECS NDJSON.
    Ecs,
    /// `evtx_dump -o jsonl` JSON lines.
    EvtxJson,
}

/// A log family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Entra sign-ins.
    SignIn,
    /// Entra audit logs.
    Audit,
    /// Windows Security events.
    Win,
}

impl Shape {
    /// Every shape, in a stable order.
    pub const ALL: [Shape; 8] = [
        Shape::LaNdjson,
        Shape::LaJson,
        Shape::Graph,
        Shape::AzMon,
        Shape::PortalCsv,
        Shape::Xml,
        Shape::Ecs,
        Shape::EvtxJson,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Shape::LaNdjson => "la-ndjson",
            Shape::LaJson => "la-json",
            Shape::Graph => "graph",
            Shape::AzMon => "azmon",
            Shape::PortalCsv => "portal-csv",
            Shape::Xml => "xml",
            Shape::Ecs => "ecs",
            Shape::EvtxJson => "evtx-json",
        }
    }

    /// True when the shape carries the family natively.
    pub fn carries(self, f: Family) -> bool {
        match f {
            Family::SignIn => matches!(
                self,
                Shape::LaNdjson | Shape::LaJson | Shape::Graph | Shape::AzMon | Shape::PortalCsv
            ),
            Family::Audit => matches!(
                self,
                Shape::LaNdjson | Shape::LaJson | Shape::Graph | Shape::AzMon | Shape::PortalCsv
            ),
            Family::Win => matches!(
                self,
                Shape::LaNdjson | Shape::LaJson | Shape::Xml | Shape::Ecs | Shape::EvtxJson
            ),
        }
    }

    /// The shape a family is written in when this shape is asked for: the
    /// shape itself when it carries the family, else the family's default
    /// (Log Analytics NDJSON for Entra, event XML for Windows).
    pub fn for_family(self, f: Family) -> Shape {
        if self.carries(f) {
            self
        } else {
            match f {
                Family::SignIn | Family::Audit => Shape::LaNdjson,
                Family::Win => Shape::Xml,
            }
        }
    }

    /// Normalized event fields this shape never carries for Entra sign-ins
    /// (Graph v1.0 `signIn` has no user agent, ASN, authentication
    /// requirement or protocol; TELEMETRY.md §2b).
    pub fn lacks(self) -> &'static [&'static str] {
        match self {
            Shape::Graph => &["user_agent", "asn", "auth_requirement", "auth_protocol"],
            _ => &[],
        }
    }

    /// One line for help texts.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::LaNdjson => {
                "Log Analytics rows, NDJSON (SigninLogs, AADNonInteractiveUserSignInLogs, AuditLogs, SecurityEvent)"
            }
            Shape::LaJson => "Log Analytics rows as JSON arrays",
            Shape::Graph => {
                "Microsoft Graph pages {\"value\":[…]} (signIns, directoryAudits), newest first"
            }
            Shape::AzMon => {
                "Azure Monitor diagnostic export {\"records\":[…]} (SignInLogs, NonInteractiveUserSignInLogs, AuditLogs)"
            }
            Shape::PortalCsv => "Entra portal download: sign-ins CSV, audit logs JSON",
            Shape::Xml => "Windows event XML (wevtutil qe /f:xml)",
            Shape::Ecs => "Winlogbeat / Elastic Agent ECS NDJSON",
            Shape::EvtxJson => "evtx_dump JSON lines",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shape::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Shape::ALL.iter().map(|x| x.name()).collect();
                format!("unknown shape `{s}` (expected {} or all)", names.join(", "))
            })
    }
}

/// Parses `all` or a comma-separated list of shapes.
pub fn parse_shapes(s: &str) -> Result<Vec<Shape>, String> {
    if s == "all" {
        return Ok(Shape::ALL.to_vec());
    }
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let sh: Shape = part.parse()?;
        if !v.contains(&sh) {
            v.push(sh);
        }
    }
    if v.is_empty() {
        return Err("no shape given".into());
    }
    Ok(v)
}
