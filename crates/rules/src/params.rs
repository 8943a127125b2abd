//! Rule parameters: `$name` references and `--set` overrides.

use crate::RuleError;
use serde_json::Value;
use std::collections::BTreeMap;

/// One `--set [RULE.]PARAM=VALUE` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Rule id, or `None` for every rule that has the parameter.
    pub rule: Option<String>,
    /// Parameter name.
    pub param: String,
    /// Raw value text (typed by the parameter's default).
    pub value: String,
    /// The override as the user wrote it.
    pub spec: String,
}

impl std::str::FromStr for Override {
    type Err = RuleError;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |m: &str| RuleError::Override {
            spec: spec.to_string(),
            message: m.to_string(),
        };
        let (lhs, value) = spec
            .split_once('=')
            .ok_or_else(|| err("expected RULE.PARAM=VALUE or PARAM=VALUE"))?;
        let lhs = lhs.trim();
        let (rule, param) = match lhs.rsplit_once('.') {
            Some((r, p)) => (Some(r.trim().to_string()), p.trim().to_string()),
            None => (None, lhs.to_string()),
        };
        if param.is_empty() || rule.as_deref() == Some("") {
            return Err(err("rule and parameter names must not be empty"));
        }
        Ok(Override {
            rule,
            param,
            value: value.trim().to_string(),
            spec: spec.to_string(),
        })
    }
}

/// Converts an override's text to the type of the parameter's default.
pub(crate) fn typed_value(default: &Value, ov: &Override) -> Result<Value, RuleError> {
    let err = |m: String| RuleError::Override {
        spec: ov.spec.clone(),
        message: m,
    };
    let raw = ov.value.as_str();
    Ok(match default {
        Value::Number(n) if n.is_u64() => Value::from(raw.parse::<u64>().map_err(|_| {
            err(format!(
                "`{}` expects a non-negative integer, got `{raw}`",
                ov.param
            ))
        })?),
        Value::Number(_) => {
            let f: f64 = raw
                .parse()
                .map_err(|_| err(format!("`{}` expects a number, got `{raw}`", ov.param)))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| err(format!("`{}` must be finite", ov.param)))?
        }
        Value::Bool(_) => Value::Bool(
            raw.parse()
                .map_err(|_| err(format!("`{}` expects true or false, got `{raw}`", ov.param)))?,
        ),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        _ => Value::String(raw.to_string()),
    })
}

/// Replaces `"$name"` strings with parameter values; inside arrays a
/// reference to a list parameter is spliced in.
pub(crate) fn substitute(v: &mut Value, params: &BTreeMap<String, Value>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('$') {
                *v = params
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("unknown parameter `${name}`"))?;
            }
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                let splice = matches!(&item, Value::String(s) if s.starts_with('$'));
                substitute(&mut item, params)?;
                match item {
                    Value::Array(inner) if splice => out.extend(inner),
                    other => out.push(other),
                }
            }
            *items = out;
        }
        Value::Object(map) => {
            for (_, x) in map.iter_mut() {
                substitute(x, params)?;
            }
        }
        _ => {}
    }
    Ok(())
}
