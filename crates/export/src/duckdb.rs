//! DuckDB SQL: a reference dialect for the semantic check, not a deployment
//! target.
//!
//! [`compile`] prints one resolved [`Rule`] as a DuckDB query over a table
//! `events` shaped like the normalized event (see [`load_events`]): one row
//! per event with `time_ns` (Unix nanoseconds), `kind`, `table`, `file`,
//! `record` and every event field by its rule-file name. The query returns
//! one row per finding with the same sources, counts, lists and severity the
//! engine reports, so `scripts/semantic-check` can run it over a simulated
//! corpus and compare it with `idrecon hunt` finding by finding.
//!
//! It states the engine's semantics (docs/ARCHITECTURE.md, docs/SEED-PARITY.md)
//! in SQL, from the same rule values the KQL and ES|QL printers read:
//! lookback at `now` (`time > now - L`, the DuckDB variable `idrecon_now_ns`,
//! default the latest event), KQL string semantics (`missing_as_empty`),
//! exact case-sensitive distinct counts, the severity ladder, minute-boundary
//! `datetime_diff`, rounding half away from zero; sliding windows ending at
//! every probe time (a self-join over window end points, as the KQL printer
//! does), overlapping qualifying windows merged into episodes, per-key
//! de-duplication (first row in canonical order kept), completed sign-ins
//! dropped, confirmed accounts (probe rows and later confirm events), capped
//! first-seen-first lists and `max_per`.

use crate::common::{classify_arms, is_list, pascal};
use idrecon_core::Field;
use idrecon_rules::{Condition, Measure, MeasureFn, Predicate, Rule, WindowKind};
use std::fmt::Write;

/// The rule cannot be expressed by this compiler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}`: cannot compile the DuckDB reference query: {message}")]
pub struct Unsupported {
    /// Rule id.
    pub rule: String,
    /// Why.
    pub message: String,
}

/// Event fields stored as columns of `events` (every field but the
/// computed `table`, `kind` — stored under those names anyway — and
/// `source`, which the query derives as `coalesce(source_ip, workstation)`).
pub fn stored_fields() -> impl Iterator<Item = Field> {
    Field::ALL
        .iter()
        .copied()
        .filter(|f| !matches!(f, Field::Table | Field::Kind | Field::Source))
}

/// `CREATE TABLE events AS …` reading newline-delimited normalized events
/// from `path` with a fixed schema (so an all-null column keeps its type).
pub fn load_events(path: &str) -> String {
    let mut cols = vec![
        "time_ns: 'BIGINT'".to_string(),
        "kind: 'VARCHAR'".to_string(),
        "\"table\": 'VARCHAR'".to_string(),
        "file: 'BIGINT'".to_string(),
        "record: 'BIGINT'".to_string(),
    ];
    cols.extend(stored_fields().map(|f| format!("{}: 'VARCHAR'", qi(f.name()))));
    format!(
        "CREATE OR REPLACE TABLE events AS SELECT * FROM read_json({}, format = 'newline_delimited', columns = {{{}}});\n",
        lit(path),
        cols.join(", ")
    )
}

/// Compiles one resolved rule into a DuckDB query (see the module docs).
/// `profile` is recorded in the header only: the rule value carries every
/// profile difference.
pub fn compile(rule: &Rule, profile: crate::Profile) -> Result<String, Unsupported> {
    Sql::new(rule, profile).query()
}

/// A quoted identifier.
fn qi(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A float literal.
fn flt(x: f64) -> String {
    format!("CAST({} AS DOUBLE)", lit(&format!("{x:?}")))
}

/// The engine's `normalize_user`: trimmed (Unicode White_Space) and
/// lower-cased.
fn norm(x: &str) -> String {
    format!(
        r"lower(regexp_replace({x}, '^[\s\v\x{{85}}\p{{Z}}]+|[\s\v\x{{85}}\p{{Z}}]+$', '', 'g'))"
    )
}

/// `floor(x / 60 s)` on nanoseconds (exact for negative times too).
fn minute(x: &str) -> String {
    format!("(({x}) - ((({x}) % 60000000000) + 60000000000) % 60000000000) // 60000000000")
}

/// Canonical event order (the engine's `canonical_cmp`): time, then
/// content, then origin; absent values first.
const CANONICAL: &str = "\"time_ns\", \"user\" NULLS FIRST, \"target_user\" NULLS FIRST, \
\"result_code\" NULLS FIRST, \"source_ip\" NULLS FIRST, \"app\" NULLS FIRST, \
\"result_description\" NULLS FIRST, \"request_id\" NULLS FIRST, \"user_agent\" NULLS FIRST, \
\"activity\" NULLS FIRST, \"result_reason\" NULLS FIRST, \"table\", \"file\", \"record\"";

struct Sql<'a> {
    rule: &'a Rule,
    profile: crate::Profile,
    mae: bool,
    /// Window length in nanoseconds.
    len_ns: i128,
}

impl<'a> Sql<'a> {
    fn new(rule: &'a Rule, profile: crate::Profile) -> Self {
        Sql {
            rule,
            profile,
            mae: rule.missing_as_empty,
            len_ns: i128::from(rule.window.length.as_secs()) * 1_000_000_000,
        }
    }

    fn err(&self, message: impl Into<String>) -> Unsupported {
        Unsupported {
            rule: self.rule.id.clone(),
            message: message.into(),
        }
    }

    /// The column of a field (`source` is computed in `src`).
    fn col(f: Field) -> String {
        qi(f.name())
    }

    /// The value a predicate tests: `""` for a missing field under KQL
    /// string semantics.
    fn get(&self, f: Field) -> String {
        if self.mae {
            format!("coalesce({}, '')", Self::col(f))
        } else {
            Self::col(f)
        }
    }

    /// The engine's `value_of(ev, f, lower, missing_as_empty)`.
    fn val(&self, f: Field, lower: bool) -> String {
        if lower {
            norm(&self.get(f))
        } else {
            self.get(f)
        }
    }

    /// A predicate as a non-null boolean (absent fields fail positive
    /// tests; `not` of a failed test holds, as in the engine).
    fn pred(&self, p: &Predicate) -> String {
        let lits = |vals: &[String], lower: bool| -> String {
            vals.iter()
                .map(|v| lit(&if lower { v.to_lowercase() } else { v.clone() }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match p {
            Predicate::In(f, vals) => {
                format!(
                    "coalesce({} IN ({}), false)",
                    self.get(*f),
                    lits(vals, false)
                )
            }
            Predicate::InCi(f, vals) => format!(
                "coalesce(lower({}) IN ({}), false)",
                self.get(*f),
                lits(vals, true)
            ),
            Predicate::Contains(f, subs) => {
                let parts: Vec<String> = subs
                    .iter()
                    .map(|s| {
                        format!(
                            "contains(lower({}), {})",
                            self.get(*f),
                            lit(&s.to_lowercase())
                        )
                    })
                    .collect();
                if parts.is_empty() {
                    "false".into()
                } else {
                    format!("coalesce({}, false)", parts.join(" OR "))
                }
            }
            Predicate::NotEmpty(f) => format!("coalesce({} <> '', false)", Self::col(*f)),
            Predicate::Any(ps) if ps.is_empty() => "false".into(),
            Predicate::Any(ps) => format!(
                "({})",
                ps.iter()
                    .map(|q| self.pred(q))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
            Predicate::All(ps) if ps.is_empty() => "true".into(),
            Predicate::All(ps) => format!(
                "({})",
                ps.iter()
                    .map(|q| self.pred(q))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            ),
            Predicate::Not(q) => format!("(NOT {})", self.pred(q)),
        }
    }

    fn all(&self, ps: &[Predicate]) -> String {
        if ps.is_empty() {
            "true".into()
        } else {
            ps.iter()
                .map(|p| self.pred(p))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    }

    /// Key columns: the rule's keys, or one constant column for a
    /// tenant-wide (key-less) rule.
    fn nkeys(&self) -> usize {
        self.rule.key.len().max(1)
    }

    /// `floor(x / L)` on nanoseconds: the tumbling bucket (exact for
    /// negative times too).
    fn bucket(&self, x: &str) -> String {
        let l = self.len_ns;
        format!("((({x}) - ((({x}) % {l}) + {l}) % {l}) // {l})")
    }

    /// `k_0, k_1, …` with an optional table prefix.
    fn keys(&self, prefix: &str) -> String {
        (0..self.nkeys())
            .map(|i| format!("{prefix}k_{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Key equality of two relations (absent key values group together).
    fn keq(&self, a: &str, b: &str) -> String {
        (0..self.nkeys())
            .map(|i| format!("{a}.k_{i} IS NOT DISTINCT FROM {b}.k_{i}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn field_of(&self, m: &Measure) -> Result<Field, Unsupported> {
        m.field
            .ok_or_else(|| self.err(format!("measure `{}` needs a field", m.name)))
    }

    /// Per-event columns of a measure: value `v_`, condition `w_`, group `p_`.
    fn measure_row_cols(&self, m: &Measure, out: &mut Vec<String>) -> Result<(), Unsupported> {
        let n = &m.name;
        let cond = |default: &str| {
            m.filter
                .as_ref()
                .map_or_else(|| default.to_string(), |p| self.pred(p))
        };
        match m.func {
            MeasureFn::CountIf => {
                out.push(format!("{} AS {}", cond("true"), qi(&format!("w_{n}"))))
            }
            MeasureFn::Dcount | MeasureFn::Set => {
                let f = self.field_of(m)?;
                out.push(format!(
                    "{} AS {}",
                    self.val(f, m.lower),
                    qi(&format!("v_{n}"))
                ));
            }
            MeasureFn::DcountIf | MeasureFn::SetIf => {
                let f = self.field_of(m)?;
                out.push(format!(
                    "{} AS {}",
                    self.val(f, m.lower),
                    qi(&format!("v_{n}"))
                ));
                out.push(format!("{} AS {}", cond("true"), qi(&format!("w_{n}"))));
            }
            // Without `where`, only confirm events confirm (no probe row does).
            MeasureFn::Confirmed | MeasureFn::ConfirmedSignins => {
                let f = self.field_of(m)?;
                out.push(format!(
                    "{} AS {}",
                    self.val(f, m.lower),
                    qi(&format!("v_{n}"))
                ));
                out.push(format!("{} AS {}", cond("false"), qi(&format!("w_{n}"))));
            }
            MeasureFn::MaxPer => {
                let f = self.field_of(m)?;
                let per = m
                    .per
                    .ok_or_else(|| self.err(format!("measure `{n}` needs `per`")))?;
                out.push(format!(
                    "{} AS {}",
                    self.val(f, m.lower),
                    qi(&format!("v_{n}"))
                ));
                out.push(format!(
                    "{} AS {}",
                    self.val(per, false),
                    qi(&format!("p_{n}"))
                ));
            }
            MeasureFn::Count
            | MeasureFn::Const
            | MeasureFn::DurationMinutes
            | MeasureFn::Rate
            | MeasureFn::Ratio
            | MeasureFn::Classify
            | MeasureFn::BaselineMean
            | MeasureFn::BaselineStddev
            | MeasureFn::BaselineBuckets => {}
        }
        Ok(())
    }

    /// A measure's number for thresholds, severity and derived measures
    /// (lists: their length), as a column of the final relations.
    fn num(&self, name: &str) -> Result<String, Unsupported> {
        let m = self
            .rule
            .measure(name)
            .ok_or_else(|| self.err(format!("undefined measure `{name}`")))?;
        Ok(match m.func {
            _ if is_list(m) || m.func == MeasureFn::ConfirmedSignins => {
                format!("len({})", qi(name))
            }
            MeasureFn::Const => match &m.value {
                Some(serde_json::Value::Number(x)) => flt(x.as_f64().unwrap_or(0.0)),
                _ => flt(0.0),
            },
            _ => format!("CAST({} AS DOUBLE)", qi(name)),
        })
    }

    fn cond(&self, c: &Condition) -> Result<String, Unsupported> {
        let v = self.num(&c.measure)?;
        let mut s = format!("{v} >= {}", flt(c.gte));
        if let Some(l) = c.lte {
            let _ = write!(s, " AND {v} <= {}", flt(l));
        }
        Ok(format!("({s})"))
    }

    fn const_sql(&self, m: &Measure) -> Result<String, Unsupported> {
        use serde_json::Value;
        Ok(match m.value.as_ref().unwrap_or(&Value::Null) {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            Value::Number(n) => flt(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => lit(s),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|v| lit(&v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect();
                format!("CAST([{}] AS VARCHAR[])", items.join(", "))
            }
            other => return Err(self.err(format!("constant `{}` = {other}", m.name))),
        })
    }

    fn query(&self) -> Result<String, Unsupported> {
        let r = self.rule;
        if r.key.is_empty() && r.window.kind != WindowKind::Tumbling {
            return Err(self.err("`key` is empty"));
        }
        let sliding = r.window.kind == WindowKind::Sliding;
        let tumbling = r.window.kind == WindowKind::Tumbling;
        let len = self.len_ns;
        let tm = r
            .measure(&r.threshold.measure)
            .ok_or_else(|| self.err("threshold measure is not defined"))?;
        let mut ctes: Vec<(String, String)> = Vec::new();
        let mut cte = |name: &str, body: String| ctes.push((name.to_string(), body));

        // Events the rule reads.
        let kinds: Vec<String> = r.kinds.iter().map(|k| lit(k.as_str())).collect();
        let mut read = format!("kind IN ({})", kinds.join(", "));
        if !r.tables.is_empty() {
            let t: Vec<String> = r.tables.iter().map(|t| lit(t)).collect();
            let _ = write!(read, " AND \"table\" IN ({})", t.join(", "));
        }
        cte(
            "src",
            format!(
                "SELECT *, coalesce(\"source_ip\", \"workstation\") AS \"source\"\n  FROM events\n  WHERE {read}"
            ),
        );

        // Per-event columns: probe / confirm, key, de-duplication key,
        // completion, measure inputs, canonical position.
        let mut cols = vec![format!("{} AS is_probe", self.all(&r.filter))];
        cols.push(format!(
            "{} AS is_confirm",
            r.confirm
                .as_ref()
                .map_or_else(|| "false".to_string(), |p| self.pred(p))
        ));
        for (i, f) in r.key.iter().enumerate() {
            cols.push(format!("{} AS k_{i}", self.val(*f, r.key_lower)));
        }
        if r.key.is_empty() {
            cols.push("'' AS k_0".into());
        }
        if let Some(p) = &r.pivot {
            cols.push(format!("{} AS pb", self.val(p.by, p.lower)));
            cols.push(format!("{} AS pc", self.val(p.collect, false)));
        }
        for (i, f) in r.dedup.iter().enumerate() {
            // Missing in any dedup field: never collapsed (no `""` here).
            cols.push(format!("{} AS d_{i}", norm(&Self::col(*f))));
        }
        if let Some(c) = &r.completed {
            cols.push(format!("{} AS c_where", self.pred(&c.filter)));
            cols.push(format!("{} AS c_ident", self.val(c.field, c.lower)));
        }
        for m in &r.measures {
            self.measure_row_cols(m, &mut cols)?;
        }
        cols.push(format!("row_number() OVER (ORDER BY {CANONICAL}) AS pos"));
        cte(
            "evrows",
            format!(
                "SELECT *,\n    {}\n  FROM src\n  WHERE ({}) OR ({})",
                cols.join(",\n    "),
                self.all(&r.filter),
                r.confirm
                    .as_ref()
                    .map_or_else(|| "false".to_string(), |p| self.pred(p))
            ),
        );
        cte(
            "confirms",
            "SELECT * FROM evrows WHERE NOT is_probe AND is_confirm".into(),
        );
        // Completed sign-ins: a row matching `completed.where` that a
        // confirm event of the same key and identity follows within `within`.
        let probes0 = match &r.completed {
            Some(c) => format!(
                "SELECT p.* FROM evrows p\n  WHERE p.is_probe AND NOT (p.c_where AND p.c_ident IS NOT NULL AND EXISTS (\n    SELECT 1 FROM confirms c\n    WHERE {} AND c.c_ident = p.c_ident\n      AND c.time_ns >= p.time_ns AND c.time_ns <= p.time_ns + {}))",
                self.keq("c", "p"),
                i128::from(c.within.as_secs()) * 1_000_000_000
            ),
            None => "SELECT * FROM evrows WHERE is_probe".into(),
        };
        cte("kept", probes0);
        // Duplicate rows of one event: the first in canonical order stays
        // (per key, after the completion filter, as the engine does).
        let probes = if r.dedup.is_empty() {
            "SELECT * FROM kept".to_string()
        } else {
            let missing: Vec<String> = (0..r.dedup.len())
                .map(|i| format!("d_{i} IS NULL"))
                .collect();
            let part: Vec<String> = (0..r.dedup.len()).map(|i| format!("d_{i}")).collect();
            format!(
                "SELECT * FROM kept\n  QUALIFY {} OR row_number() OVER (PARTITION BY {}, {} ORDER BY pos) = 1",
                missing.join(" OR "),
                self.keys(""),
                part.join(", ")
            )
        };
        cte("probes", probes);

        let thr_val = match tm.func {
            MeasureFn::Dcount => format!("count(DISTINCT p.{})", qi(&format!("v_{}", tm.name))),
            MeasureFn::Count => "count(*)".to_string(),
            _ => return Err(self.err("threshold measure must be a count or dcount")),
        };
        if sliding {
            // Every probe time ends a candidate window (t - L, t].
            cte(
                "ends",
                format!(
                    "SELECT DISTINCT {}, time_ns AS wend FROM probes",
                    self.keys("")
                ),
            );
            cte(
                "windows",
                format!(
                    "SELECT {}, e.wend, {thr_val} AS wval, count(*) AS wrows, min(p.time_ns) AS wstart\n  FROM ends e JOIN probes p ON {}\n    AND p.time_ns > e.wend - {len} AND p.time_ns <= e.wend\n  GROUP BY {}, e.wend",
                    self.keys("e."),
                    self.keq("p", "e"),
                    self.keys("e.")
                ),
            );
            // Qualifying windows of one key that share events (the next
            // window end is less than L after the previous one) form one
            // episode.
            cte(
                "qualifying",
                format!(
                    "SELECT *, sum(CASE WHEN prev IS NULL OR wend - prev >= {len} THEN 1 ELSE 0 END)\n      OVER (PARTITION BY {k} ORDER BY wend ROWS UNBOUNDED PRECEDING) AS ep\n  FROM (SELECT *, lag(wend) OVER (PARTITION BY {k} ORDER BY wend) AS prev\n        FROM windows WHERE wval >= {})",
                    r.threshold.gte,
                    k = self.keys("")
                ),
            );
            cte(
                "episodes",
                format!(
                    "SELECT {k}, ep, min(wend) AS crossed_ns, max(wend) AS last_end,\n    max(wval) AS peak_value,\n    arg_min(wend, wend) FILTER (WHERE wval = pk) AS peak_end_ns,\n    arg_min(wstart, wend) FILTER (WHERE wval = pk) AS peak_start_ns,\n    arg_min(wrows, wend) FILTER (WHERE wval = pk) AS peak_rows\n  FROM (SELECT *, max(wval) OVER (PARTITION BY {k}, ep) AS pk FROM qualifying)\n  GROUP BY {k}, ep",
                    k = self.keys("")
                ),
            );
            cte(
                "ev0",
                format!(
                    "SELECT p.*, e.ep FROM probes p JOIN episodes e ON {}\n    AND p.time_ns > e.crossed_ns - {len} AND p.time_ns <= e.last_end",
                    self.keq("p", "e")
                ),
            );
        } else if tumbling {
            let b = self.bucket("time_ns");
            match &r.pivot {
                None => cte("ev0", format!("SELECT *, {b} AS b, {b} AS ep FROM probes")),
                Some(p) => {
                    // Per bucket and `by` value: the sorted set of its
                    // `collect` values; the set (with the bucket) is the group.
                    cte(
                        "pivot_sets",
                        format!(
                            "SELECT {k}, b, pb, list_sort(list(DISTINCT pc)) AS pset\n  FROM (SELECT *, {b} AS b FROM probes WHERE pb IS NOT NULL AND pc IS NOT NULL)\n  GROUP BY {k}, b, pb HAVING count(DISTINCT pc) >= {}",
                            p.min,
                            k = self.keys("")
                        ),
                    );
                    cte(
                        "ev0",
                        format!(
                            "SELECT p.*, s.b, s.pset, CAST(s.b AS VARCHAR) || '|' || array_to_string(s.pset, ',') AS ep\n  FROM probes p JOIN pivot_sets s ON {} AND {} = s.b AND p.pb = s.pb AND p.pc IS NOT NULL",
                            self.keq("p", "s"),
                            self.bucket("p.time_ns")
                        ),
                    );
                }
            }
        } else {
            cte(
                "params",
                "SELECT CAST(coalesce(getvariable('idrecon_now_ns'), (SELECT max(time_ns) FROM events)) AS BIGINT) AS now_ns".into(),
            );
            // Lookback: `time > now - L`; events after `now` are kept.
            cte(
                "ev0",
                format!(
                    "SELECT *, 1 AS ep FROM probes WHERE time_ns > (SELECT now_ns FROM params) - {len}"
                ),
            );
        }
        // First occurrence of each value of each list measure.
        let mut flags = Vec::new();
        for m in &r.measures {
            let v = qi(&format!("v_{}", m.name));
            match m.func {
                MeasureFn::Set => flags.push(format!(
                    "row_number() OVER (PARTITION BY {}, ep, {v} ORDER BY pos) = 1 AS {}",
                    self.keys(""),
                    qi(&format!("f_{}", m.name))
                )),
                MeasureFn::SetIf => flags.push(format!(
                    "row_number() OVER (PARTITION BY {}, ep, {v}, {} ORDER BY pos) = 1 AS {}",
                    self.keys(""),
                    qi(&format!("w_{}", m.name)),
                    qi(&format!("f_{}", m.name))
                )),
                _ => {}
            }
        }
        cte(
            "ev",
            if flags.is_empty() {
                "SELECT * FROM ev0".into()
            } else {
                format!("SELECT *,\n    {}\n  FROM ev0", flags.join(",\n    "))
            },
        );

        // Plain aggregates per key and episode.
        let mut aggs = vec![
            "min(time_ns) AS first_ns".to_string(),
            "max(time_ns) AS last_ns".to_string(),
        ];
        if tumbling {
            aggs.push("min(b) AS b".into());
            aggs.push("count(*) AS n_rows".into());
            if r.pivot.is_some() {
                aggs.push("any_value(pset) AS pset".into());
            }
        }
        for m in &r.measures {
            let n = qi(&m.name);
            let v = qi(&format!("v_{}", m.name));
            let w = qi(&format!("w_{}", m.name));
            let f = qi(&format!("f_{}", m.name));
            let cap = |e: String| match m.cap {
                Some(c) => format!("list_slice({e}, 1, {c})"),
                None => e,
            };
            let a = match m.func {
                MeasureFn::Count => "count(*)".to_string(),
                MeasureFn::CountIf => format!("count(*) FILTER (WHERE {w})"),
                MeasureFn::Dcount => format!("count(DISTINCT {v})"),
                MeasureFn::DcountIf => format!("count(DISTINCT {v}) FILTER (WHERE {w})"),
                MeasureFn::Set => cap(format!(
                    "coalesce(list({v} ORDER BY pos) FILTER (WHERE {f} AND {v} IS NOT NULL), CAST([] AS VARCHAR[]))"
                )),
                MeasureFn::SetIf => cap(format!(
                    "coalesce(list({v} ORDER BY pos) FILTER (WHERE {f} AND {w} AND {v} IS NOT NULL), CAST([] AS VARCHAR[]))"
                )),
                MeasureFn::DurationMinutes => {
                    format!("{} - {}", minute("max(time_ns)"), minute("min(time_ns)"))
                }
                MeasureFn::Const => self.const_sql(m)?,
                _ => continue,
            };
            aggs.push(format!("{a} AS {n}"));
        }
        cte(
            "agg",
            format!(
                "SELECT {k}, ep,\n    {}\n  FROM ev GROUP BY {k}, ep",
                aggs.join(",\n    "),
                k = self.keys("")
            ),
        );

        // Measures joined in: confirmed accounts and max_per.
        let mut joins = Vec::new();
        for (i, m) in r.measures.iter().enumerate() {
            let v = qi(&format!("v_{}", m.name));
            let w = qi(&format!("w_{}", m.name));
            match m.func {
                MeasureFn::Confirmed | MeasureFn::ConfirmedSignins => {
                    let probed = if m.any_identity {
                        String::new()
                    } else {
                        format!(
                            "\n    AND EXISTS (SELECT 1 FROM ev p WHERE {} AND p.ep = a.ep AND p.{v} = c.{v} AND p.time_ns <= c.time_ns)",
                            self.keq("p", "c")
                        )
                    };
                    let detail = "\"source\" AS d_source, result_code AS d_code, event_id AS d_event_id, app AS d_app, client_app AS d_client_app, auth_requirement AS d_auth_requirement";
                    let cdetail = "c.\"source\", c.result_code, c.event_id, c.app, c.client_app, c.auth_requirement";
                    cte(
                        &format!("hits_{i}"),
                        format!(
                            "SELECT {k}, ep, {v} AS v, time_ns AS t, 0 AS src, pos AS ord, {detail}\n  FROM ev WHERE {w} AND {v} IS NOT NULL\n  UNION ALL\n  SELECT {ck}, a.ep, c.{v}, c.time_ns, 1, c.file * 4294967296 + c.record, {cdetail}\n  FROM confirms c JOIN agg a ON {}\n    AND c.time_ns >= a.first_ns AND c.time_ns <= a.last_ns + {len}\n  WHERE c.{v} IS NOT NULL{probed}{pivot}",
                            self.keq("c", "a"),
                            pivot = if r.pivot.is_some() {
                                "\n    AND list_contains(a.pset, c.pc)"
                            } else {
                                ""
                            },
                            k = self.keys(""),
                            ck = self.keys("c."),
                        ),
                    );
                    let order = "ORDER BY t, v, src, ord";
                    let body = if m.func == MeasureFn::Confirmed {
                        format!("list(v {order})")
                    } else {
                        format!(
                            "list({{'account': v, 'time_ns': t, 'source_ip': d_source, 'result_code': d_code, 'event_id': d_event_id, 'app': d_app, 'client_app': d_client_app, 'auth_requirement': d_auth_requirement}} {order})"
                        )
                    };
                    let body = match m.cap {
                        Some(c) => format!("list_slice({body}, 1, {c})"),
                        None => body,
                    };
                    cte(
                        &format!("m_{i}"),
                        format!(
                            "SELECT {k}, ep, {body} AS val\n  FROM (SELECT *, row_number() OVER (PARTITION BY {k}, ep, v ORDER BY t, src, ord) AS rn FROM hits_{i})\n  WHERE rn = 1 GROUP BY {k}, ep",
                            k = self.keys("")
                        ),
                    );
                    let empty = if m.func == MeasureFn::Confirmed {
                        "CAST([] AS VARCHAR[])".to_string()
                    } else {
                        "[]".to_string()
                    };
                    joins.push((i, format!("coalesce(m_{i}.val, {empty})")));
                }
                MeasureFn::MaxPer => {
                    let p = qi(&format!("p_{}", m.name));
                    cte(
                        &format!("m_{i}"),
                        format!(
                            "SELECT {k}, ep, max(n) AS val FROM (\n    SELECT {k}, ep, {p}, count(DISTINCT {v}) AS n FROM ev\n    WHERE {p} IS NOT NULL AND {v} IS NOT NULL GROUP BY {k}, ep, {p})\n  GROUP BY {k}, ep",
                            k = self.keys("")
                        ),
                    );
                    joins.push((i, format!("coalesce(m_{i}.val, 0)")));
                }
                _ => {}
            }
        }
        let mut sel = vec!["agg.*".to_string()];
        let mut from = "agg".to_string();
        if let Some(bl) = &r.window.baseline {
            // The baseline of each bucket: the threshold measure of the
            // key's previous n = min(history, b - b0) buckets (absent: 0),
            // b0 the bucket of the first event of the rule's kinds.
            let kinds: Vec<String> = r.kinds.iter().map(|k| lit(k.as_str())).collect();
            cte(
                "b0",
                format!(
                    "SELECT {} AS b0 FROM events WHERE kind IN ({})",
                    self.bucket("min(time_ns)"),
                    kinds.join(", ")
                ),
            );
            let thr = qi(&tm.name);
            cte(
                "hist",
                format!(
                    "SELECT {ak}, a.ep, a.n, sum(h.{thr}) AS s, sum(h.{thr} * h.{thr}) AS ss\n  FROM (SELECT *, greatest(least({}, b - (SELECT b0 FROM b0)), 0) AS n FROM agg) a\n  LEFT JOIN agg h ON {} AND h.b >= a.b - a.n AND h.b < a.b\n  GROUP BY {ak}, a.ep, a.n",
                    bl.buckets(r.window.length),
                    self.keq("h", "a"),
                    ak = self.keys("a.")
                ),
            );
            cte(
                "mean",
                "SELECT *, CASE WHEN n = 0 THEN 0.0 ELSE CAST(coalesce(s, 0) AS DOUBLE) / n END AS mean,\n    CASE WHEN n = 0 THEN 0.0 ELSE CAST(coalesce(ss, 0) AS DOUBLE) / n END AS meansq\n  FROM hist".to_string(),
            );
            cte(
                "baseline",
                format!(
                    "SELECT *, sqrt(greatest(meansq - mean * mean, 0.0)) AS sd,\n    mean + {} * sqrt(greatest(meansq - mean * mean, 0.0)) AS bar\n  FROM mean",
                    flt(bl.sigmas)
                ),
            );
            sel.push("baseline.n AS bl_n".into());
            sel.push("baseline.bar AS bl_bar".into());
            for m in &r.measures {
                let e = match m.func {
                    MeasureFn::BaselineMean => "round(baseline.mean * 100.0) / 100.0",
                    MeasureFn::BaselineStddev => "round(baseline.sd * 100.0) / 100.0",
                    MeasureFn::BaselineBuckets => "baseline.n",
                    _ => continue,
                };
                sel.push(format!("{e} AS {}", qi(&m.name)));
            }
            let _ = write!(
                from,
                "\n  LEFT JOIN baseline ON {} AND baseline.ep = agg.ep",
                self.keq("baseline", "agg")
            );
        }
        if tumbling {
            // The running threshold value of each group, in canonical order:
            // it crosses at the first event where it reaches the threshold
            // (and rises above the baseline's bar).
            let k = self.keys("");
            let (running, rel) = match tm.func {
                MeasureFn::Dcount => {
                    let v = qi(&format!("v_{}", tm.name));
                    (
                        format!(
                            "sum(CASE WHEN {v} IS NOT NULL AND fl = 1 THEN 1 ELSE 0 END) OVER (PARTITION BY {k}, ep ORDER BY pos ROWS UNBOUNDED PRECEDING)"
                        ),
                        format!(
                            "(SELECT *, row_number() OVER (PARTITION BY {k}, ep, {v} ORDER BY pos) AS fl FROM ev)"
                        ),
                    )
                }
                _ => (
                    format!("row_number() OVER (PARTITION BY {k}, ep ORDER BY pos)"),
                    "ev".to_string(),
                ),
            };
            cte(
                "runs",
                format!("SELECT {k}, ep, time_ns, {running} AS running\n  FROM {rel}"),
            );
            let (join, bar) = if r.window.baseline.is_some() {
                (
                    format!(
                        " JOIN baseline bl ON {} AND bl.ep = r.ep",
                        self.keq("bl", "r")
                    ),
                    " AND r.running > bl.bar",
                )
            } else {
                (String::new(), "")
            };
            cte(
                "crossing",
                format!(
                    "SELECT {rk}, r.ep, min(r.time_ns) AS crossed_ns\n  FROM runs r{join}\n  WHERE r.running >= {}{bar}\n  GROUP BY {rk}, r.ep",
                    r.threshold.gte,
                    rk = self.keys("r.")
                ),
            );
        }
        for (i, e) in &joins {
            sel.push(format!("{e} AS {}", qi(&r.measures[*i].name)));
            let _ = write!(
                from,
                "\n  LEFT JOIN m_{i} ON {} AND m_{i}.ep = agg.ep",
                self.keq(&format!("m_{i}"), "agg")
            );
        }
        cte(
            "measured",
            format!("SELECT {}\n  FROM {from}", sel.join(", ")),
        );

        // Derived measures: rate and ratio, then classify.
        let dd = format!("({} - {})", minute("last_ns"), minute("first_ns"));
        let mut derived = Vec::new();
        for m in &r.measures {
            let e = match m.func {
                MeasureFn::Rate => {
                    let of = self.num(m.of.as_deref().unwrap_or_default())?;
                    format!(
                        "round(({of}) / (CASE WHEN {dd} = 0 THEN 1 ELSE {dd} END) * 100.0) / 100.0"
                    )
                }
                MeasureFn::Ratio => {
                    let num = self.num(m.num.as_deref().unwrap_or_default())?;
                    let den = m
                        .den
                        .iter()
                        .map(|d| self.num(d))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(" + ");
                    format!(
                        "CASE WHEN ({den}) = 0 THEN 0.0 ELSE round(({num}) / ({den}) * 10000.0) / 10000.0 END"
                    )
                }
                _ => continue,
            };
            derived.push(format!("{e} AS {}", qi(&m.name)));
        }
        cte(
            "derived",
            if derived.is_empty() {
                "SELECT * FROM measured".into()
            } else {
                format!(
                    "SELECT *,\n    {}\n  FROM measured",
                    derived.join(",\n    ")
                )
            },
        );
        let mut classes = Vec::new();
        for m in r.measures.iter().filter(|m| m.func == MeasureFn::Classify) {
            let of = self.num(m.of.as_deref().unwrap_or_default())?;
            let arms: Vec<String> = classify_arms(m)
                .iter()
                .map(|(l, b, ge)| {
                    format!(
                        "WHEN {of} {} {} THEN {}",
                        if *ge { ">=" } else { "<=" },
                        flt(*b),
                        lit(l)
                    )
                })
                .collect();
            classes.push(format!(
                "CASE {} ELSE 'mixed' END AS {}",
                arms.join(" "),
                qi(&m.name)
            ));
        }
        cte(
            "classified",
            if classes.is_empty() {
                "SELECT * FROM derived".into()
            } else {
                format!("SELECT *,\n    {}\n  FROM derived", classes.join(",\n    "))
            },
        );

        // Severity ladder: the first arm whose condition holds.
        let mut sev = String::from("CASE");
        for arm in &r.severity {
            let level = serde_json::to_value(arm.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            if arm.any.is_empty() {
                let _ = write!(sev, " ELSE {}", lit(&level));
                break;
            }
            let c = arm
                .any
                .iter()
                .map(|c| self.cond(c))
                .collect::<Result<Vec<_>, _>>()?;
            let _ = write!(sev, " WHEN {} THEN {}", c.join(" OR "), lit(&level));
        }
        sev.push_str(" END");

        let mut out = vec![format!("{} AS detection", lit(&r.id))];
        for (i, f) in r.key.iter().enumerate() {
            out.push(format!(
                "classified.k_{i} AS {}",
                qi(&format!("key_{}", f.name()))
            ));
        }
        if let Some(p) = &r.pivot {
            out.push(format!(
                "array_to_string(classified.pset, ',') AS {}",
                qi(&format!("key_{}_set", p.collect.name()))
            ));
        }
        out.push(format!("{sev} AS severity"));
        out.push("first_ns AS first_seen_ns".into());
        out.push("last_ns AS last_seen_ns".into());
        for m in &r.measures {
            out.push(format!("classified.{}", qi(&m.name)));
        }
        let mut from = "classified".to_string();
        let mut wh = Vec::new();
        if sliding {
            out.push("episodes.crossed_ns AS threshold_crossed_at_ns".into());
            out.push("episodes.peak_start_ns".into());
            out.push("episodes.peak_end_ns".into());
            out.push("episodes.peak_value AS peak_unique_usernames".into());
            out.push("episodes.peak_rows AS peak_total_failures".into());
            let _ = write!(
                from,
                "\n  JOIN episodes ON {} AND episodes.ep = classified.ep",
                self.keq("episodes", "classified")
            );
        } else if tumbling {
            out.push("crossing.crossed_ns AS threshold_crossed_at_ns".into());
            out.push("classified.first_ns AS peak_start_ns".into());
            out.push("classified.last_ns AS peak_end_ns".into());
            out.push(format!(
                "classified.{} AS peak_unique_usernames",
                qi(&tm.name)
            ));
            out.push("classified.n_rows AS peak_total_failures".into());
            let _ = write!(
                from,
                "\n  LEFT JOIN crossing ON {} AND crossing.ep = classified.ep",
                self.keq("crossing", "classified")
            );
            wh.push(format!("{} >= {}", self.num(&tm.name)?, r.threshold.gte));
            if let Some(bl) = &r.window.baseline {
                wh.push(format!(
                    "classified.bl_n >= {}",
                    bl.min_buckets(r.window.length)
                ));
                wh.push(format!("{} > classified.bl_bar", self.num(&tm.name)?));
            }
        } else {
            wh.push(format!("{} >= {}", self.num(&tm.name)?, r.threshold.gte));
        }
        for c in &r.require {
            wh.push(self.cond(c)?);
        }
        let mut text = String::new();
        let _ = writeln!(
            text,
            "-- idrecon rule {} ({} profile, compiled as {}): {}",
            r.id,
            r.profile,
            self.profile,
            r.title.replace(['\n', '\r'], " ")
        );
        let _ = writeln!(
            text,
            "-- DuckDB reference query for the semantic check (scripts/semantic-check); reads table `events`\n-- (idrecon_export::duckdb::load_events); lookback rules evaluate at variable idrecon_now_ns, default the latest event."
        );
        let _ = writeln!(
            text,
            "-- window: {} {}s; threshold: {} >= {}",
            if sliding {
                "sliding"
            } else if tumbling {
                "tumbling"
            } else {
                "lookback"
            },
            r.window.length.as_secs(),
            pascal(&tm.name),
            r.threshold.gte
        );
        text.push_str("WITH\n");
        let n = ctes.len();
        for (i, (name, body)) in ctes.iter().enumerate() {
            let _ = writeln!(
                text,
                "{name} AS (\n  {body}\n){}",
                if i + 1 < n { "," } else { "" }
            );
        }
        let _ = write!(text, "SELECT {}\nFROM {from}", out.join(",\n  "));
        if !wh.is_empty() {
            let _ = write!(text, "\nWHERE {}", wh.join("\n  AND "));
        }
        let _ = writeln!(
            text,
            "\nORDER BY {}, first_seen_ns;",
            (0..self.nkeys())
                .map(|i| format!("classified.k_{i} NULLS FIRST"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idrecon_rules::{Catalogue, Profile};

    #[test]
    fn every_rule_compiles_in_both_profiles() {
        for p in [Profile::Seed, Profile::Recommended] {
            let c = Catalogue::load(p, &[]).expect("catalogue loads");
            for r in c.rules() {
                let q = compile(r, p).unwrap_or_else(|e| panic!("{e}"));
                assert!(q.contains("FROM events"), "{}", r.id);
                assert!(q.trim_end().ends_with(';'), "{}", r.id);
            }
        }
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(qi("a\"b"), "\"a\"\"b\"");
        assert!(load_events("/tmp/x'y.ndjson").contains("'/tmp/x''y.ndjson'"));
    }
}
