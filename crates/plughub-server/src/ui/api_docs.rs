//! `GET /api/docs`: the API reference, made on the server from the OpenAPI document (the same one
//! `/api/openapi.json` serves), so the two cannot disagree. Every operation, grouped by tag, with its
//! parameters, request body and every answer; schemas as property tables, a `$ref` as a link to the named
//! schema further down the page. Public, and with no script: nothing comes from elsewhere.

use super::{Page, Viewer};
use axum::http::Uri;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;
use utoipa::OpenApi;

/// The reference, made once: the document does not change while the server runs.
static REFERENCE: LazyLock<Reference> = LazyLock::new(|| {
    let doc = serde_json::to_value(crate::openapi::ApiDoc::openapi())
        .expect("the OpenAPI document serialises");
    Reference::of(&doc)
});

/// `GET /api/docs`.
pub async fn page(viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "api", &uri);
    page.render(
        "api_docs.html",
        "API reference",
        context! { reference => Serde(&*REFERENCE) },
    )
}

/// Nested inline objects deeper than this are shown as "object" (the document has none so deep).
const MAX_DEPTH: usize = 6;

#[derive(Serialize)]
pub struct Reference {
    title: String,
    version: String,
    description: String,
    tags: Vec<TagView>,
    /// The answers many operations share (`#/components/responses/…`), described once.
    shared: Vec<SharedAnswer>,
    schemas: Vec<NamedSchema>,
    operations: usize,
}

#[derive(Serialize)]
struct SharedAnswer {
    name: String,
    anchor: String,
    answer: Answer,
}

#[derive(Serialize)]
struct TagView {
    name: String,
    anchor: String,
    description: String,
    operations: Vec<Operation>,
}

#[derive(Serialize)]
struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    deprecated: bool,
    /// Whether the operation answers without a token or session.
    public: bool,
    parameters: Vec<Parameter>,
    body: Option<Body>,
    responses: Vec<Answer>,
}

#[derive(Serialize)]
struct Parameter {
    name: String,
    location: String,
    required: bool,
    description: String,
    ty: Vec<Part>,
    constraints: String,
}

#[derive(Serialize)]
struct Body {
    required: bool,
    description: String,
    media: Vec<Media>,
}

#[derive(Serialize)]
struct Answer {
    status: String,
    /// A shared answer's name and anchor: the operation shows its first words and links to it.
    shared: Option<(String, String)>,
    description: String,
    headers: Vec<String>,
    media: Vec<Media>,
}

#[derive(Serialize)]
struct Media {
    content_type: String,
    schema: Option<SchemaView>,
}

/// A schema as the page shows it: its type (with links to named schemas) and, for an object, its
/// properties as rows, nested ones indented.
#[derive(Serialize)]
struct SchemaView {
    ty: Vec<Part>,
    constraints: String,
    description: String,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct NamedSchema {
    name: String,
    anchor: String,
    schema: SchemaView,
}

#[derive(Serialize)]
struct Row {
    name: String,
    depth: usize,
    required: bool,
    ty: Vec<Part>,
    constraints: String,
    description: String,
}

/// A piece of a type: text, or a named schema with its anchor.
#[derive(Serialize)]
struct Part {
    text: String,
    link: Option<String>,
}

impl Part {
    fn text(text: impl Into<String>) -> Part {
        Part {
            text: text.into(),
            link: None,
        }
    }
}

pub fn response_anchor(name: &str) -> String {
    format!("response-{}", slug(name))
}

pub fn schema_anchor(name: &str) -> String {
    format!("schema-{}", slug(name))
}

pub fn operation_anchor(method: &str, path: &str, id: Option<&str>) -> String {
    match id {
        Some(id) if !id.is_empty() => format!("op-{}", slug(id)),
        _ => format!("op-{}-{}", method, slug(path)),
    }
}

/// Letters, digits, `-` and `_`; anything else a `-`: safe in an id and a fragment.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

impl Reference {
    pub fn of(doc: &Value) -> Reference {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        // Tags in the document's order, then any an operation names that the document does not list.
        let mut order: Vec<(String, String)> = doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (text(&t["name"]), text(&t["description"])))
            .collect();
        let mut grouped: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method).filter(|o| o.is_object()) else {
                    continue;
                };
                count += 1;
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                if !order.iter().any(|(n, _)| *n == tag) {
                    order.push((tag.clone(), String::new()));
                }
                grouped
                    .entry(tag)
                    .or_default()
                    .push(operation(doc, path, method, item, op));
            }
        }
        let tags = order
            .into_iter()
            .filter_map(|(name, description)| {
                let operations = grouped.remove(&name)?;
                Some(TagView {
                    anchor: format!("tag-{}", slug(&name)),
                    name,
                    description,
                    operations,
                })
            })
            .collect();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| NamedSchema {
                name: name.clone(),
                anchor: schema_anchor(name),
                schema: schema_view(schema),
            })
            .collect();
        let shared = doc["components"]["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, r)| SharedAnswer {
                name: name.clone(),
                anchor: response_anchor(name),
                answer: answer(doc, "", r),
            })
            .collect();
        Reference {
            shared,
            title: text(&doc["info"]["title"]),
            version: text(&doc["info"]["version"]),
            description: text(&doc["info"]["description"]),
            tags,
            schemas,
            operations: count,
        }
    }
}

/// Text with `code` in backticks as HTML: escaped, the backticked parts in `<code>`. An odd backtick
/// stays as it is.
pub fn ticks(text: &str) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
    };
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(p))
            } else {
                escape(p)
            }
        })
        .collect()
}

/// `value`, or what its `$ref` points to in the document (`#/components/…`), followed a few times.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..4 {
        match current["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => current = target,
                None => break,
            },
            None => break,
        }
    }
    current
}

fn operation(doc: &Value, path: &str, method: &str, item: &Value, op: &Value) -> Operation {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    // Parameters of the path item, then the operation's own (which win on the same name and place).
    let mut parameters: Vec<Parameter> = Vec::new();
    for p in item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(op["parameters"].as_array().into_iter().flatten())
    {
        let p = resolve(doc, p);
        let name = text(&p["name"]);
        let location = text(&p["in"]);
        parameters.retain(|q| !(q.name == name && q.location == location));
        let schema = &p["schema"];
        parameters.push(Parameter {
            required: p["required"].as_bool().unwrap_or(location == "path"),
            description: text(&p["description"]),
            ty: type_of(schema),
            constraints: constraints(schema),
            name,
            location,
        });
    }
    let body = op.get("requestBody").map(|b| {
        let b = resolve(doc, b);
        Body {
            required: b["required"].as_bool().unwrap_or(false),
            description: text(&b["description"]),
            media: media(doc, &b["content"]),
        }
    });
    let mut responses: Vec<Answer> = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, r)| answer(doc, status, r))
        .collect();
    responses.sort_by(|a, b| a.status.cmp(&b.status));
    // `security: [{}]` (or an empty list) on the operation: it needs no credential.
    let public = op["security"].as_array().is_some_and(|s| {
        s.is_empty()
            || s.iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
    });
    Operation {
        anchor: operation_anchor(method, path, op["operationId"].as_str()),
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        summary: text(&op["summary"]),
        description: text(&op["description"]),
        deprecated: op["deprecated"].as_bool().unwrap_or(false),
        public,
        parameters,
        body,
        responses,
    }
}

/// One answer. A shared one (a `$ref` to `#/components/responses/…`) keeps only the first clause of its
/// description and links to where it is described whole: the same long text under every operation would
/// make the page many times longer.
fn answer(doc: &Value, status: &str, r: &Value) -> Answer {
    let shared = r["$ref"]
        .as_str()
        .filter(|p| p.starts_with("#/components/responses/"))
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let r = resolve(doc, r);
    let description = r["description"].as_str().unwrap_or_default();
    match shared {
        Some(name) => Answer {
            status: status.to_string(),
            description: first_clause(description),
            shared: Some((response_anchor(&name), name)),
            headers: Vec::new(),
            media: Vec::new(),
        },
        None => Answer {
            status: status.to_string(),
            shared: None,
            description: description.to_string(),
            headers: r["headers"]
                .as_object()
                .map(|h| h.keys().cloned().collect())
                .unwrap_or_default(),
            media: media(doc, &r["content"]),
        },
    }
}

/// A description up to its first `(`, `;`, `:` or full stop.
fn first_clause(text: &str) -> String {
    let end = text.find(['(', ';', ':', '.']).unwrap_or(text.len());
    text[..end].trim().trim_end_matches(',').to_string()
}

/// A body's media types with their schemas. A body that is a named schema (or an array of one) shows
/// that schema's fields right there too: a reader of one operation sees what to send and what comes back.
fn media(doc: &Value, content: &Value) -> Vec<Media> {
    content
        .as_object()
        .into_iter()
        .flatten()
        .map(|(content_type, m)| Media {
            content_type: content_type.clone(),
            schema: m.get("schema").map(|s| {
                let mut view = schema_view(s);
                let named = ref_name(s).or_else(|| ref_name(&s["items"]));
                if view.rows.is_empty()
                    && let Some(name) = named
                    && let Some(target) = doc["components"]["schemas"].get(name)
                {
                    properties(target, 0, &mut view.rows);
                }
                view
            }),
        })
        .collect()
}

/// The name a `$ref` to a schema gives (`#/components/schemas/Install` → `Install`).
fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or(r))
}

/// A schema's view. One that is just a `$ref` shows the link: its fields are in the named schema's table,
/// one click away.
fn schema_view(schema: &Value) -> SchemaView {
    let mut rows = Vec::new();
    properties(schema, 0, &mut rows);
    SchemaView {
        ty: type_of(schema),
        constraints: constraints(schema),
        description: schema["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        rows,
    }
}

/// The rows of an inline object's properties (and of inline objects in them, indented); a `$ref` is a
/// link, not expanded, so that recursive schemas end.
fn properties(schema: &Value, depth: usize, rows: &mut Vec<Row>) {
    if depth > MAX_DEPTH || ref_name(schema).is_some() {
        return;
    }
    // An array of inline objects: the items' properties.
    if schema["type"] == "array" {
        return properties(&schema["items"], depth, rows);
    }
    // allOf of inline parts: their properties together.
    for part in schema["allOf"].as_array().into_iter().flatten() {
        properties(part, depth, rows);
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        rows.push(Row {
            name: name.clone(),
            depth,
            required: required.contains(&name.as_str()),
            ty: type_of(property),
            constraints: constraints(property),
            description: property["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        });
        properties(inline_object(property), depth + 1, rows);
    }
}

/// The inline object a property holds, itself, as items, or as the one non-null part of a oneOf: its
/// properties nest under the property's row.
fn inline_object(property: &Value) -> &Value {
    if property["items"].is_object() {
        return &property["items"];
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = property[key].as_array() {
            let non_null: Vec<&Value> = parts.iter().filter(|p| p["type"] != "null").collect();
            if non_null.len() == 1 {
                return non_null[0];
            }
        }
    }
    property
}

/// A schema's type in words, with links for named schemas: `array of <Install>`, `string (date-time)`,
/// `<Plan> or null`.
fn type_of(schema: &Value) -> Vec<Part> {
    if let Some(name) = ref_name(schema) {
        return vec![Part {
            text: name.to_string(),
            link: Some(schema_anchor(name)),
        }];
    }
    for (key, joiner) in [("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")] {
        if let Some(parts) = schema[key].as_array() {
            let mut out = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(Part::text(joiner));
                }
                out.extend(type_of(part));
            }
            return out;
        }
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ if schema["properties"].is_object() => vec!["object".into()],
        _ => Vec::new(),
    };
    if types.is_empty() {
        return vec![Part::text("any")];
    }
    let mut out = Vec::new();
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            out.push(Part::text(" or "));
        }
        match t.as_str() {
            "array" => {
                out.push(Part::text("array of "));
                out.extend(type_of(&schema["items"]));
            }
            "object"
                if schema["additionalProperties"].is_object()
                    && !schema["properties"].is_object() =>
            {
                out.push(Part::text("map of string to "));
                out.extend(type_of(&schema["additionalProperties"]));
            }
            other => match schema["format"].as_str() {
                Some(format) if other != "null" => {
                    out.push(Part::text(format!("{other} ({format})")))
                }
                _ => out.push(Part::text(other)),
            },
        }
    }
    out
}

/// What a schema allows beyond its type, in words: the values of an enum, bounds, pattern, default.
fn constraints(schema: &Value) -> String {
    let mut out = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(compact).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    for (key, words) in [
        ("minimum", "at least"),
        ("maximum", "at most"),
        ("exclusiveMinimum", "more than"),
        ("exclusiveMaximum", "less than"),
        ("minLength", "length at least"),
        ("maxLength", "length at most"),
        ("minItems", "items at least"),
        ("maxItems", "items at most"),
    ] {
        if let Some(v) = schema.get(key).filter(|v| v.is_number()) {
            out.push(format!("{words} {v}"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        out.push(format!("matches `{pattern}`"));
    }
    if let Some(default) = schema.get("default") {
        out.push(format!("default {}", compact(default)));
    }
    out.join("; ")
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backticks_become_code_and_the_rest_is_escaped() {
        assert_eq!(
            ticks("sent as `application/json` <b>"),
            "sent as <code>application/json</code> &lt;b&gt;"
        );
        assert_eq!(ticks("one ` only"), "one ` only");
        assert_eq!(ticks("`<x>`"), "<code>&lt;x&gt;</code>");
    }

    #[test]
    fn types_read_as_words_with_links() {
        let words = |s: Value| {
            type_of(&s)
                .into_iter()
                .map(|p| match p.link {
                    Some(l) => format!("<{}#{l}>", p.text),
                    None => p.text,
                })
                .collect::<String>()
        };
        assert_eq!(
            words(json!({"type": "array", "items": {"$ref": "#/components/schemas/Install"}})),
            "array of <Install#schema-Install>"
        );
        assert_eq!(
            words(json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Plan"}]})),
            "null or <Plan#schema-Plan>"
        );
        assert_eq!(
            words(json!({"type": ["string", "null"], "format": "date-time"})),
            "string (date-time) or null"
        );
        assert_eq!(
            words(json!({"type": "object", "additionalProperties": {"type": "integer"}})),
            "map of string to integer"
        );
    }

    #[test]
    fn nested_objects_are_indented_rows_and_refs_stop() {
        let mut rows = Vec::new();
        properties(
            &json!({
                "type": "object",
                "required": ["a"],
                "properties": {
                    "a": {"type": "object", "properties": {"b": {"type": "string", "maxLength": 5}}},
                    "c": {"type": "array", "items": {"type": "object", "properties": {"d": {"$ref": "#/components/schemas/X"}}}},
                    "e": {"$ref": "#/components/schemas/Self"}
                }
            }),
            0,
            &mut rows,
        );
        let got: Vec<(String, usize, bool)> = rows
            .iter()
            .map(|r| (r.name.clone(), r.depth, r.required))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), 0, true),
                ("b".into(), 1, false),
                ("c".into(), 0, false),
                ("d".into(), 1, false),
                ("e".into(), 0, false),
            ]
        );
        assert_eq!(rows[1].constraints, "length at most 5");
    }
}
