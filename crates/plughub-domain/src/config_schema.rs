//! A plugin's settings, from what it declares: `agentConfig.pluginParameters` in its package.json (and the
//! v2 `elizaos.plugin.json` secrets lists). Real declarations are untidy — defaults typed `"false"`,
//! `false` or `1536`, `sensitive` left out — so they are normalised here once, and values a user gives are
//! checked against the result.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Number,
    Boolean,
    Array,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub description: Option<String>,
    /// Normalised to the parameter's type: a string, number, boolean, array or any JSON.
    pub default: Option<Value>,
    /// A value must be there, given or by default. Declarations default to required, as elizaOS reads them.
    pub required: bool,
    /// Encrypted at rest, never shown back, never logged.
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigSchema {
    pub params: Vec<ParamSpec>,
    /// What was odd in the declaration and how it was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What is wrong with one given value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

/// Names that hold secrets even when a declaration forgets to say so.
pub fn looks_sensitive(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.split(['_', '-', '.']).any(|part| {
        matches!(
            part,
            "KEY"
                | "TOKEN"
                | "SECRET"
                | "PASSWORD"
                | "PASSWD"
                | "PASSPHRASE"
                | "MNEMONIC"
                | "CREDENTIALS"
                | "PRIVATE"
        )
    }) || upper.ends_with("APIKEY")
}

impl ConfigSchema {
    /// From `agentConfig` (the object holding `pluginParameters`), and optionally `elizaos.plugin.json`.
    pub fn from_declarations(
        agent_config: Option<&Value>,
        plugin_json: Option<&Value>,
    ) -> ConfigSchema {
        let mut schema = ConfigSchema::default();
        let params = agent_config
            .and_then(|a| a.get("pluginParameters"))
            .and_then(Value::as_object);
        for (name, decl) in params.into_iter().flatten() {
            schema
                .params
                .push(schema_param(name, decl, &mut schema.notes));
        }
        if let Some(pj) = plugin_json {
            for (list, required) in [("requiredSecrets", true), ("optionalSecrets", false)] {
                for name in pj
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    match schema.params.iter_mut().find(|p| p.name == name) {
                        Some(p) => {
                            p.sensitive = true;
                            p.required |= required;
                        }
                        None => schema.params.push(ParamSpec {
                            name: name.to_string(),
                            kind: ParamType::String,
                            description: None,
                            default: None,
                            required,
                            sensitive: true,
                        }),
                    }
                }
            }
        }
        schema.params.sort_by(|a, b| a.name.cmp(&b.name));
        schema
    }

    /// The declared setting `name` is: the one of that name, else a family's (`ETHEREUM_PROVIDER_<CHAINNAME>`
    /// declares `ETHEREUM_PROVIDER_MAINNET`, `ETHEREUM_PROVIDER_BASE`, …).
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .or_else(|| self.params.iter().find(|p| in_family(&p.name, name)))
    }

    /// Checks given values (as text, from `KEY=VALUE` or an env file) and returns them typed. Every problem
    /// is reported at once, so a user fixes them in one go.
    pub fn validate(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Value>, Vec<ConfigProblem>> {
        let mut typed = BTreeMap::new();
        let mut problems = Vec::new();
        for (key, text) in given {
            let Some(param) = self.param(key) else {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                let message = if known.is_empty() {
                    "the plugin declares no settings".to_string()
                } else {
                    format!(
                        "not a setting of this plugin (it has: {})",
                        known.join(", ")
                    )
                };
                problems.push(ConfigProblem {
                    key: key.clone(),
                    message,
                });
                continue;
            };
            match parse_value(param.kind, text) {
                Ok(value) => {
                    typed.insert(key.clone(), value);
                }
                Err(expected) => problems.push(ConfigProblem {
                    key: key.clone(),
                    // A secret's value is never echoed back, not even in an error.
                    message: if param.sensitive {
                        format!("expected {expected}")
                    } else {
                        format!("expected {expected}, got '{text}'")
                    },
                }),
            }
        }
        for param in &self.params {
            // Empty text is no value: a plugin reading a required setting finds nothing there.
            let has_value = given.iter().any(|(k, v)| {
                (*k == param.name || in_family(&param.name, k)) && !v.trim().is_empty()
            });
            if param.required && param.default.is_none() && !has_value {
                let what = if param.sensitive {
                    "a required secret"
                } else {
                    "a required setting"
                };
                problems.push(ConfigProblem {
                    key: param.name.clone(),
                    message: format!("{what} has no value"),
                });
            }
        }
        if problems.is_empty() {
            Ok(typed)
        } else {
            Err(problems)
        }
    }
}

/// Whether `key` is a member of the family `declared` names with one `<PLACEHOLDER>`: the text around the
/// placeholder the same, and in its place a name of capitals, digits and underscores.
fn in_family(declared: &str, key: &str) -> bool {
    let Some((before, rest)) = declared.split_once('<') else {
        return false;
    };
    let Some((_, after)) = rest.split_once('>') else {
        return false;
    };
    key.len() > before.len() + after.len()
        && key.starts_with(before)
        && key.ends_with(after)
        && key[before.len()..key.len() - after.len()]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn schema_param(name: &str, decl: &Value, notes: &mut Vec<String>) -> ParamSpec {
    let declared_type = decl.get("type").and_then(Value::as_str);
    let raw_default = decl.get("default").filter(|d| !d.is_null());
    let kind = match declared_type {
        Some("string") => ParamType::String,
        Some("number" | "integer") => ParamType::Number,
        Some("boolean") => ParamType::Boolean,
        Some("array") => ParamType::Array,
        Some("json" | "object") => ParamType::Json,
        other => {
            let inferred = match raw_default {
                Some(Value::Bool(_)) => ParamType::Boolean,
                Some(Value::Number(_)) => ParamType::Number,
                _ => ParamType::String,
            };
            notes.push(format!(
                "{name}: type {} read as {inferred:?}",
                other.map_or("missing".into(), |t| format!("'{t}'"))
            ));
            inferred
        }
    };
    let default = raw_default.and_then(|d| {
        let normalised = normalise_default(kind, d);
        if normalised.is_none() {
            notes.push(format!(
                "{name}: default {d} is not a {kind:?} and was dropped"
            ));
        }
        normalised
    });
    let sensitive = match decl.get("sensitive").and_then(Value::as_bool) {
        Some(s) => s,
        None => looks_sensitive(name),
    };
    ParamSpec {
        name: name.to_string(),
        kind,
        description: decl
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        default,
        required: decl
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        sensitive,
    }
}

fn normalise_default(kind: ParamType, raw: &Value) -> Option<Value> {
    match raw {
        Value::String(text) => parse_value(kind, text).ok(),
        Value::Bool(_) if kind == ParamType::Boolean => Some(raw.clone()),
        Value::Number(_) if kind == ParamType::Number => Some(raw.clone()),
        Value::Array(_) if kind == ParamType::Array => Some(raw.clone()),
        _ if kind == ParamType::Json => Some(raw.clone()),
        // A number or boolean declared as a string setting: elizaOS settings are text in the end.
        Value::Number(_) | Value::Bool(_) if kind == ParamType::String => {
            Some(Value::String(raw.to_string()))
        }
        _ => None,
    }
}

/// Text to a typed value; `Err` names what was expected.
pub fn parse_value(kind: ParamType, text: &str) -> Result<Value, &'static str> {
    let t = text.trim();
    match kind {
        ParamType::String => Ok(Value::String(text.to_string())),
        ParamType::Number => t
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| {
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    Value::from(n as i64)
                } else {
                    Value::from(n)
                }
            })
            .ok_or("a number"),
        ParamType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err("true or false"),
        },
        ParamType::Array => match serde_json::from_str::<Value>(t) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ if t.is_empty() => Ok(Value::Array(vec![])),
            _ => Ok(Value::Array(
                t.split(',')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            )),
        },
        ParamType::Json => serde_json::from_str(t).map_err(|_| "JSON"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_family_s_declaration_covers_its_members() {
        let schema = super::ConfigSchema::from_declarations(
            Some(&serde_json::json!({ "pluginParameters": {
                "ETHEREUM_PROVIDER_<CHAINNAME>": { "type": "string" },
                "EVM_PRIVATE_KEY": { "type": "string", "sensitive": true }
            }})),
            None,
        );
        let given = [
            ("ETHEREUM_PROVIDER_MAINNET", "https://rpc.example.invalid/"),
            ("EVM_PRIVATE_KEY", "0x01"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        assert_eq!(schema.validate(&given).unwrap().len(), 2);
        assert_eq!(
            schema.param("ETHEREUM_PROVIDER_BASE").unwrap().name,
            "ETHEREUM_PROVIDER_<CHAINNAME>"
        );
        for not_a_member in [
            "ETHEREUM_PROVIDER_",
            "ETHEREUM_PROVIDER_main net",
            "EVM_PROVIDER_X",
        ] {
            assert!(schema.param(not_a_member).is_none(), "{not_a_member}");
        }
    }

    use super::*;
    use serde_json::json;

    fn schema() -> ConfigSchema {
        ConfigSchema::from_declarations(
            Some(&json!({ "pluginParameters": {
                "OPENAI_API_KEY": { "type": "string", "required": true, "sensitive": true },
                "OPENAI_EMBEDDING_DIMENSIONS": { "type": "number", "required": false, "default": 1536 },
                "MAX_TOKENS": { "type": "number", "required": false, "default": "4096" },
                "STT_DIARIZE": { "type": "boolean", "required": false, "default": "false" },
                "TELEMETRY": { "type": "boolean", "required": false, "default": false },
                "WALLET_PRIVATE_KEY": { "type": "string", "required": false },
                "CHANNEL_IDS": { "type": "array", "required": false },
                "ODD": { "type": "colour", "default": "red" }
            }})),
            Some(
                &json!({ "requiredSecrets": ["EXTRA_TOKEN"], "optionalSecrets": ["OPENAI_API_KEY"] }),
            ),
        )
    }

    #[test]
    fn declarations_are_normalised() {
        let s = schema();
        assert_eq!(
            s.param("OPENAI_EMBEDDING_DIMENSIONS").unwrap().default,
            Some(json!(1536))
        );
        assert_eq!(
            s.param("MAX_TOKENS").unwrap().default,
            Some(json!(4096)),
            "\"4096\" is the number 4096"
        );
        assert_eq!(
            s.param("STT_DIARIZE").unwrap().default,
            Some(json!(false)),
            "\"false\" is false"
        );
        assert_eq!(s.param("TELEMETRY").unwrap().default, Some(json!(false)));
        assert!(
            s.param("WALLET_PRIVATE_KEY").unwrap().sensitive,
            "named like a secret"
        );
        assert!(!s.param("CHANNEL_IDS").unwrap().sensitive);
        let extra = s.param("EXTRA_TOKEN").unwrap();
        assert!(
            extra.sensitive && extra.required,
            "from elizaos.plugin.json"
        );
        assert_eq!(s.param("ODD").unwrap().kind, ParamType::String);
        assert!(s.notes.iter().any(|n| n.contains("ODD")), "{:?}", s.notes);
    }

    #[test]
    fn values_are_typed_and_every_problem_reported() {
        let s = schema();
        let given: BTreeMap<String, String> = [
            ("OPENAI_API_KEY", "sk-secret"),
            ("EXTRA_TOKEN", "t"),
            ("STT_DIARIZE", "yes"),
            ("CHANNEL_IDS", "a, b"),
            ("ODD", "blue"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let typed = s.validate(&given).unwrap();
        assert_eq!(typed["STT_DIARIZE"], json!(true));
        assert_eq!(typed["CHANNEL_IDS"], json!(["a", "b"]));

        let bad: BTreeMap<String, String> = [
            ("MAX_TOKENS", "lots"),
            ("OPENAI_API_KEY", "sk-x"),
            ("NOPE", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let problems = s.validate(&bad).unwrap_err();
        let text = format!("{problems:?}");
        assert!(
            text.contains("MAX_TOKENS") && text.contains("expected a number, got 'lots'"),
            "{text}"
        );
        assert!(
            text.contains("NOPE") && text.contains("not a setting"),
            "{text}"
        );
        assert!(
            text.contains("EXTRA_TOKEN") && text.contains("a required secret has no value"),
            "{text}"
        );
        assert!(!text.contains("sk-x"), "secrets are never echoed");

        // A required secret given as empty text has no value either: the plugin would find none.
        let mut emptied = bad.clone();
        emptied.retain(|k, _| k == "OPENAI_API_KEY");
        emptied.insert("EXTRA_TOKEN".into(), "  ".into());
        let text = format!("{:?}", s.validate(&emptied).unwrap_err());
        assert!(
            text.contains("EXTRA_TOKEN") && text.contains("a required secret has no value"),
            "{text}"
        );
        emptied.insert("EXTRA_TOKEN".into(), "t0k".into());
        assert!(s.validate(&emptied).is_ok());
    }

    #[test]
    fn the_naming_rule() {
        for yes in [
            "OPENAI_API_KEY",
            "DISCORD_TOKEN",
            "DB_PASSWORD",
            "SOLANA_PRIVATE_KEY",
            "CLIENT_SECRET",
            "OPENAIAPIKEY",
        ] {
            assert!(looks_sensitive(yes), "{yes}");
        }
        for no in ["MAX_TOKENS_PER_CALL_X", "KEYWORDS", "MONKEY", "BASE_URL"] {
            assert!(!looks_sensitive(no), "{no}");
        }
    }
}
