//! Values for the settings a plugin requires, so that a trial gets to its `init`: one of the right type
//! for each, shaped as the name suggests (a URL that never resolves, a key of the usual form), never a
//! real credential or a real address. A validator that still rejects them is the plugin's to fix.

use plughub_domain::config_schema::{ConfigSchema, ParamSpec, ParamType};
use std::collections::BTreeMap;

/// Where every URL placeholder points: a reserved name (RFC 2606) that never resolves.
pub const UNRESOLVABLE: &str = "compat.invalid";

/// A value for each of `names` (the required settings with neither a value nor a default), as text the
/// schema's own check reads into the setting's type.
pub fn placeholders(schema: &ConfigSchema, names: &[String]) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|name| {
            let param = schema.param(name)?;
            Some((name.clone(), placeholder(param)))
        })
        .collect()
}

fn placeholder(param: &ParamSpec) -> String {
    match param.kind {
        ParamType::Boolean => "false".into(),
        ParamType::Number => {
            if has_part(&param.name, &["PORT"]) {
                "8080".into()
            } else {
                "1".into()
            }
        }
        ParamType::Array => "[]".into(),
        ParamType::Json => "{}".into(),
        ParamType::String => string(&param.name),
    }
}

/// A string shaped as its name asks: URLs and hosts on the unresolvable name, private keys as 32 bytes
/// of hex, addresses as 20, e-mail addresses and ports in their forms; anything else a plain word.
fn string(name: &str) -> String {
    if has_part(name, &["URL", "URI", "ENDPOINT", "BASE", "RPC", "WEBHOOK"]) {
        return format!("https://{UNRESOLVABLE}/");
    }
    if has_part(name, &["HOST", "HOSTNAME", "DOMAIN"]) {
        return UNRESOLVABLE.into();
    }
    if has_part(name, &["PORT"]) {
        return "8080".into();
    }
    if has_part(name, &["EMAIL"]) {
        return format!("placeholder@{UNRESOLVABLE}");
    }
    if has_part(name, &["PRIVATE"]) && has_part(name, &["KEY"]) {
        return format!("0x{}", "1".repeat(64));
    }
    if has_part(name, &["ADDRESS", "WALLET"]) {
        return format!("0x{}", "1".repeat(40));
    }
    if has_part(name, &["ID", "CHAIN"]) {
        return "1".into();
    }
    "placeholder".into()
}

fn has_part(name: &str, parts: &[&str]) -> bool {
    name.to_ascii_uppercase()
        .split(['_', '-', '.'])
        .any(|p| parts.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, kind: ParamType) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            kind,
            description: None,
            default: None,
            required: true,
            sensitive: false,
        }
    }

    #[test]
    fn each_type_gets_a_value_its_check_reads_and_urls_never_resolve() {
        let schema = ConfigSchema {
            params: vec![
                param("OPENAI_API_KEY", ParamType::String),
                param("OPENAI_BASE_URL", ParamType::String),
                param("DB_HOST", ParamType::String),
                param("EVM_PRIVATE_KEY", ParamType::String),
                param("WALLET_ADDRESS", ParamType::String),
                param("MAX_TOKENS", ParamType::Number),
                param("SERVER_PORT", ParamType::Number),
                param("ENABLED", ParamType::Boolean),
                param("CHANNELS", ParamType::Array),
                param("EXTRA", ParamType::Json),
            ],
            notes: vec![],
        };
        let names: Vec<String> = schema.params.iter().map(|p| p.name.clone()).collect();
        let values = placeholders(&schema, &names);
        assert_eq!(values["OPENAI_API_KEY"], "placeholder");
        assert_eq!(values["OPENAI_BASE_URL"], "https://compat.invalid/");
        assert_eq!(values["DB_HOST"], "compat.invalid");
        assert_eq!(values["EVM_PRIVATE_KEY"].len(), 66);
        assert_eq!(values["WALLET_ADDRESS"].len(), 42);
        assert_eq!(values["SERVER_PORT"], "8080");
        // Every value passes the schema's own check, typed as the setting is.
        let typed = schema.validate(&values).expect("placeholders are valid");
        assert_eq!(typed["MAX_TOKENS"], serde_json::json!(1));
        assert_eq!(typed["ENABLED"], serde_json::json!(false));
        assert_eq!(typed["CHANNELS"], serde_json::json!([]));
        assert_eq!(typed["EXTRA"], serde_json::json!({}));
        // Only the names asked for, and only settings the schema has.
        let one = placeholders(&schema, &["ENABLED".into(), "NOT_A_SETTING".into()]);
        assert_eq!(one.len(), 1);
    }
}
