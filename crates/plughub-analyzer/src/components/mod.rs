//! The components a package declares, read statically from its JavaScript as published (often one
//! bundled `dist/index.js`), without running anything.
//!
//! Two ways in, the first authoritative:
//! - **Listed**: the plugin object (`{ name, actions: [...], providers, evaluators, services, models,
//!   routes }`, elizaOS 0.x's `clients` and `adapters` too) and registrations on the runtime
//!   (`runtime.registerAction(x)`, `runtime.registerModel(ModelType.X, …)`, as plugins do in `init`).
//!   Its lists are followed through the file's declarations (`actions: [replyAction]`, `...more`,
//!   `Object.values(map)`), so the kind of each item is the list it is in.
//! - **By shape**, for what no list reaches (components in files the plugin object imports from): an
//!   object with a string `name`, a `handler` and a `validate` is an action, or an evaluator when it has
//!   `alwaysRun`, examples with an `outcome` (an action's examples are conversations; an evaluator's are
//!   `{ prompt, messages, outcome }`), or a name or binding ending in `evaluator`. With their lists
//!   hidden, this rule gives the listed kind of all 87 actions and evaluators the plugin objects of 37
//!   catalogue packages list (86 before names of their own were read). An object with a `name` and a
//!   `get` function is a provider when it also has a provider's field (`description`, `dynamic`,
//!   `position`, `private`), is bound like `…Provider`, or its `get` takes the runtime first; a class
//!   with a static `serviceType` is a service.
//!
//! elizaOS 0.x lists nameless providers (named here by the binding they are listed by) and services as
//! instances (`services: [new LogService()]`), whose `serviceType` may be a static getter.
//!
//! Names and descriptions may be same-file constants (`name: ACTION_NAME` with
//! `const ACTION_NAME = "X"`, `Names.X` of a same-file object). What a plugin builds at run time is not
//! seen.
//!
//! A plugin is a client (a connector, bringing conversations from another platform) when, from a class
//! that keeps the runtime, it calls `this.runtime.ensureConnection`, or emits `MESSAGE_RECEIVED` there
//! and makes rooms or people there, or hands messages to elizaOS 2's `messageService.handleMessage`; or
//! when it registers a send handler, lists 0.x `clients` or defines a 0.x `…ClientInterface`
//! (`{ start, stop }`). It is an adapter when it registers a database adapter, extends a
//! `…DatabaseAdapter`, or has an `adapter` or `adapters`.

mod scan;

use plughub_domain::{Component, ComponentKind};
use scan::{ClassNode, Key, Node, Obj, PLUGIN_LISTS, Scan};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Components kept of one package.
pub const MAX_COMPONENTS: usize = 256;
/// Characters of a name; a longer "name" is not a component's.
const MAX_NAME: usize = 100;
/// Characters of a description kept.
const MAX_DESCRIPTION: usize = 500;
const MAX_SIMILES: usize = 16;
const MAX_SIMILE: usize = 64;
/// How many declarations one name may be followed through.
const MAX_HOPS: u32 = 8;

/// What a package's code declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// By kind (actions first), each kind in the order found.
    pub components: Vec<Component>,
    pub client: bool,
    pub adapter: bool,
    /// Items a plugin object lists (or the runtime is given) that are not readable statically: built by
    /// a call, or imported from another file. The most of any one file (bundles repeat each other).
    pub unread: u32,
    /// More components than `MAX_COMPONENTS`, or a file too large to read whole.
    pub cut: bool,
}

/// One file's findings, before the package's are merged.
#[derive(Debug, Default)]
pub(crate) struct FileDeclared {
    found: Vec<(Component, bool)>,
    client: bool,
    adapter: bool,
    unread: u32,
    cut: bool,
}

impl Declared {
    /// The package's components from its files' (in the files' order): one of each kind and name, a
    /// listed one winning over one found by shape (an action and an evaluator of one name are one).
    pub(crate) fn merge(files: Vec<FileDeclared>) -> Declared {
        let mut out = Declared::default();
        let mut listed: Vec<bool> = Vec::new();
        for file in files {
            out.client |= file.client;
            out.adapter |= file.adapter;
            // A package often ships one bundle per target (ESM, CJS, browser): the same code again.
            out.unread = out.unread.max(file.unread);
            out.cut |= file.cut;
            for (component, is_listed) in file.found {
                let same = |c: &Component| {
                    c.name == component.name && group(c.kind) == group(component.kind)
                };
                match out.components.iter().position(same) {
                    Some(i) if is_listed && !listed[i] => {
                        out.components[i] = component;
                        listed[i] = true;
                    }
                    Some(i) => {
                        let kept = &mut out.components[i];
                        if kept.description.is_none() {
                            kept.description = component.description;
                        }
                        if kept.similes.is_empty() {
                            kept.similes = component.similes;
                        }
                    }
                    None if out.components.len() >= MAX_COMPONENTS => out.cut = true,
                    None => {
                        out.components.push(component);
                        listed.push(is_listed);
                    }
                }
            }
        }
        out.components.sort_by_key(|c| c.kind);
        out
    }
}

/// Actions and evaluators share a name space here: the same object is one or the other.
fn group(kind: ComponentKind) -> ComponentKind {
    match kind {
        ComponentKind::Evaluator => ComponentKind::Action,
        other => other,
    }
}

/// The components one parsed file declares.
pub(crate) fn extract(program: &oxc_ast::ast::Program<'_>) -> FileDeclared {
    let scan = Scan::of(program);
    let mut r = Resolver {
        scan: &scan,
        consumed: HashSet::new(),
        out: FileDeclared {
            client: scan.client || (scan.emits_received && scan.makes_rooms),
            adapter: scan.adapter,
            cut: scan.cut,
            ..FileDeclared::default()
        },
    };
    for (_, o) in &scan.objects {
        r.plugin(o);
    }
    for (method, node) in &scan.registered {
        if method == "registerModel" {
            let model = match node {
                Node::Member(_, property) => Some(property.clone()),
                other => r.string(Some(other)),
            };
            match model.filter(|m| is_model_type(m)) {
                Some(name) => r.push(
                    Component {
                        kind: ComponentKind::Model,
                        name,
                        description: None,
                        similes: vec![],
                    },
                    true,
                ),
                None => r.out.unread += 1,
            }
            continue;
        }
        let kind = match method.as_str() {
            "registerAction" => ComponentKind::Action,
            "registerProvider" => ComponentKind::Provider,
            "registerEvaluator" => ComponentKind::Evaluator,
            _ => ComponentKind::Service,
        };
        r.listed_item(kind, node);
    }
    for (bound, o) in &scan.objects {
        if !r.consumed.contains(&o.at) {
            r.by_shape(bound.as_deref(), o);
        }
        // An elizaOS 0.x client: `const TwitterClientInterface = { start(runtime), stop(runtime) }`.
        if bound
            .as_deref()
            .is_some_and(|b| b.to_ascii_lowercase().ends_with("clientinterface"))
            && matches!(o.get("start"), Some(Node::Func(_)))
            && matches!(o.get("stop"), Some(Node::Func(_)))
        {
            r.out.client = true;
        }
    }
    for class in &scan.classes {
        if !r.consumed.contains(&class.at) && r.service_type(class).is_some() {
            r.consumed.insert(class.at);
            if let Some(c) = r.service(class) {
                r.out.found.push((c, false));
            }
        }
    }
    r.out
}

struct Resolver<'s> {
    scan: &'s Scan,
    /// Objects and classes already taken, by where they start.
    consumed: HashSet<u32>,
    out: FileDeclared,
}

impl<'s> Resolver<'s> {
    /// A name or member followed to what it was declared as.
    fn resolve(&self, node: &'s Node) -> &'s Node {
        let mut at = node;
        for _ in 0..MAX_HOPS {
            let next = match at {
                Node::Ident(name) | Node::New(name) => self.scan.decls.get(name),
                Node::Member(Some(object), property) => match self.scan.decls.get(object) {
                    Some(Node::Object(o)) => o.get(property),
                    _ => None,
                },
                _ => None,
            };
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        at
    }

    fn string(&self, node: Option<&'s Node>) -> Option<String> {
        match self.resolve(node?) {
            Node::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The items of a list: an array (spreads followed), or `Object.values(map)`.
    fn items(&self, node: Option<&'s Node>) -> Vec<&'s Node> {
        let mut out = Vec::new();
        if let Some(node) = node {
            self.collect_items(node, 0, &mut out);
        }
        out
    }

    fn collect_items(&self, node: &'s Node, depth: u32, out: &mut Vec<&'s Node>) {
        if depth > MAX_HOPS {
            return;
        }
        match self.resolve(node) {
            Node::Array(items) => {
                for item in items {
                    match item {
                        Node::Spread(inner) => self.collect_items(inner, depth + 1, out),
                        other => out.push(other),
                    }
                }
            }
            Node::Call { object, name, args }
                if object.as_deref() == Some("Object") && name == "values" =>
            {
                if let Some(Node::Object(o)) = args.first().map(|a| self.resolve(a)) {
                    out.extend(o.props.iter().map(|(_, v)| v));
                }
            }
            _ => {}
        }
    }

    /// A plugin object: its lists, each item of the kind of its list.
    fn plugin(&mut self, o: &'s Obj) {
        if self.string(o.get("name")).is_none() || !PLUGIN_LISTS.iter().any(|k| o.has(k)) {
            return;
        }
        self.consumed.insert(o.at);
        for (key, kind) in [
            ("actions", ComponentKind::Action),
            ("providers", ComponentKind::Provider),
            ("evaluators", ComponentKind::Evaluator),
            ("services", ComponentKind::Service),
        ] {
            for item in self.items(o.get(key)) {
                self.listed_item(kind, item);
            }
        }
        if let Some(Node::Object(models)) = o.get("models").map(|m| self.resolve(m)) {
            for (key, _) in &models.props {
                let model = match key {
                    Key::Name(name) => Some(name.clone()),
                    Key::Computed(Node::Member(_, property)) => Some(property.clone()),
                    Key::Computed(other) => self.string(Some(other)),
                };
                if let Some(model) = model.filter(|m| is_model_type(m)) {
                    self.push(
                        Component {
                            kind: ComponentKind::Model,
                            name: model,
                            description: None,
                            similes: vec![],
                        },
                        true,
                    );
                }
            }
        }
        for item in self.items(o.get("routes")) {
            if let Node::Object(route) = self.resolve(item)
                && let Some(path) = self.string(route.get("path"))
            {
                self.consumed.insert(route.at);
                let method = self
                    .string(route.get("type"))
                    .map(|t| t.to_ascii_uppercase());
                let name = match method {
                    Some(m) => format!("{m} {path}"),
                    None => path,
                };
                if let Some(name) = valid_name(&name) {
                    self.push(
                        Component {
                            kind: ComponentKind::Route,
                            name,
                            description: None,
                            similes: vec![],
                        },
                        true,
                    );
                }
            }
        }
        if !self.items(o.get("clients")).is_empty() {
            self.out.client = true;
        }
        if !self.items(o.get("adapters")).is_empty()
            || o.get("adapter")
                .is_some_and(|a| !matches!(self.resolve(a), Node::Null | Node::Ident(_)))
        {
            self.out.adapter = true;
        }
    }

    /// One item of a list, or one registration, of a known kind.
    fn listed_item(&mut self, kind: ComponentKind, item: &'s Node) {
        let found = match (kind, self.resolve(item)) {
            (ComponentKind::Service, Node::Class(class)) => {
                self.consumed.insert(class.at);
                self.service(class)
            }
            (ComponentKind::Service, _) => None,
            (kind, Node::Object(o)) => {
                self.consumed.insert(o.at);
                self.component(kind, o).or_else(|| match (kind, item) {
                    // elizaOS 0.x providers have no name: the one they are bound to stands in.
                    (ComponentKind::Provider, Node::Ident(bound))
                        if self.string(o.get("name")).is_none() && o.has("get") =>
                    {
                        Some(Component {
                            kind,
                            name: valid_name(bound)?,
                            description: self
                                .string(o.get("description"))
                                .map(|d| shorten(d.trim(), MAX_DESCRIPTION)),
                            similes: vec![],
                        })
                    }
                    _ => None,
                })
            }
            // Strings are names, not components (`actions: ["REPLY"]` in an example message).
            (_, Node::Str(_)) => return,
            _ => None,
        };
        match found {
            Some(c) => self.push(c, true),
            None => self.out.unread += 1,
        }
    }

    fn by_shape(&mut self, bound: Option<&str>, o: &'s Obj) {
        let bound = bound.map(str::to_ascii_lowercase).unwrap_or_default();
        let func = |n: Option<&Node>| matches!(n, Some(Node::Func(_) | Node::Ident(_)));
        let kind = if func(o.get("handler")) && func(o.get("validate")) {
            if self.evaluator_shaped(&bound, o) {
                ComponentKind::Evaluator
            } else {
                ComponentKind::Action
            }
        } else if let Some(Node::Func(params)) = o.get("get") {
            let providerish = ["description", "dynamic", "position", "private"]
                .iter()
                .any(|k| o.has(k))
                || bound.ends_with("provider")
                || params
                    .first()
                    .is_some_and(|p| p.to_ascii_lowercase().contains("runtime"));
            if !providerish {
                return;
            }
            ComponentKind::Provider
        } else {
            return;
        };
        if let Some(c) = self.component(kind, o) {
            self.push(c, false);
        }
    }

    fn evaluator_shaped(&self, bound: &str, o: &'s Obj) -> bool {
        o.has("alwaysRun")
            || bound.ends_with("evaluator")
            || self
                .string(o.get("name"))
                .is_some_and(|n| n.to_ascii_lowercase().ends_with("evaluator"))
            || self
                .items(o.get("examples"))
                .first()
                .is_some_and(|e| matches!(self.resolve(e), Node::Object(x) if x.has("outcome")))
    }

    fn component(&self, kind: ComponentKind, o: &'s Obj) -> Option<Component> {
        let name = valid_name(&self.string(o.get("name"))?)?;
        let description = self
            .string(o.get("description"))
            .map(|d| shorten(d.trim(), MAX_DESCRIPTION))
            .filter(|d| !d.is_empty());
        let similes = if matches!(kind, ComponentKind::Action | ComponentKind::Evaluator) {
            let mut similes: Vec<String> = Vec::new();
            for s in self.items(o.get("similes")) {
                if let Some(s) = self.string(Some(s)).and_then(|s| valid_name(&s))
                    && s.chars().count() <= MAX_SIMILE
                    && !similes.contains(&s)
                {
                    similes.push(s);
                }
                if similes.len() == MAX_SIMILES {
                    break;
                }
            }
            similes
        } else {
            Vec::new()
        };
        Some(Component {
            kind,
            name,
            description,
            similes,
        })
    }

    /// A class's `serviceType`, from its static field or an assignment after it.
    fn service_type(&self, class: &'s ClassNode) -> Option<&'s Node> {
        class
            .statics
            .iter()
            .find(|(k, _)| k == "serviceType")
            .map(|(_, v)| v)
            .or_else(|| self.assigned(class, "serviceType"))
    }

    fn assigned(&self, class: &'s ClassNode, property: &str) -> Option<&'s Node> {
        let name = class.name.as_deref()?;
        self.scan
            .assigned_statics
            .iter()
            .find(|(c, p, _)| c == name && p == property)
            .map(|(_, _, v)| v)
    }

    /// A service: named by its `serviceType` when that is a fixed string, else by its class.
    fn service(&self, class: &'s ClassNode) -> Option<Component> {
        let name = self
            .string(self.service_type(class))
            .and_then(|t| valid_name(&t))
            .or_else(|| {
                class
                    .name
                    .as_deref()
                    .map(|n| n.trim_start_matches('_'))
                    .and_then(valid_name)
            })?;
        let description = class
            .fields
            .iter()
            .chain(&class.statics)
            .find(|(k, _)| k == "capabilityDescription")
            .map(|(_, v)| v)
            .or_else(|| self.assigned(class, "capabilityDescription"))
            .and_then(|v| self.string(Some(v)))
            .map(|d| shorten(d.trim(), MAX_DESCRIPTION))
            .filter(|d| !d.is_empty());
        Some(Component {
            kind: ComponentKind::Service,
            name,
            description,
            similes: vec![],
        })
    }

    fn push(&mut self, component: Component, listed: bool) {
        let known = self
            .out
            .found
            .iter()
            .any(|(c, _)| c.name == component.name && group(c.kind) == group(component.kind));
        if !known {
            self.out.found.push((component, listed));
        }
    }
}

/// A name as a component has one: trimmed, not empty, not too long, no control characters.
fn valid_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control))
        .then(|| name.to_string())
}

/// `TEXT_LARGE`, `OBJECT_SMALL`, `TRANSCRIPTION`: upper-case words and digits joined by `_`.
fn is_model_type(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_string(),
    }
}
