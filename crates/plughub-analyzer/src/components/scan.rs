//! One walk over a parsed file that keeps, as small owned values, what can declare components: the
//! file's variable declarations (to resolve `actions: [replyAction]` and `name: ACTION_NAME`), object
//! literals that have a `name` or a plugin's lists, classes, registrations made on the runtime, and the
//! signals of a client or a database adapter. Every value is bounded in depth, width, length and number,
//! whatever the code.

use oxc_ast::ast::*;
use oxc_ast_visit::{Visit, walk};
use std::collections::{HashMap, HashSet};

/// How deep a value is kept: a plugin object, its list, an item, the item's examples, one example.
const MAX_DEPTH: u32 = 5;
/// Items of an array and properties of an object kept.
const MAX_ITEMS: usize = 256;
/// Characters of a string kept.
pub(super) const MAX_STRING: usize = 2_000;
/// Values kept for one file; past it, values are `Other` and the file's extraction is marked cut.
const BUDGET: usize = 200_000;

/// The keys of elizaOS's `Plugin` object that list components.
pub(super) const PLUGIN_LISTS: [&str; 9] = [
    "actions",
    "providers",
    "evaluators",
    "services",
    "models",
    "routes",
    "clients",
    "adapters",
    "adapter",
];

#[derive(Debug, Clone)]
pub(super) enum Node {
    Str(String),
    Ident(String),
    /// `a.b`, with `a` when it is an identifier.
    Member(Option<String>, String),
    Object(Obj),
    Array(Vec<Node>),
    Spread(Box<Node>),
    /// A function, with the names of its first parameters (empty for patterns).
    Func(Vec<String>),
    /// `new Name(…)`: elizaOS 0.x lists services as instances.
    New(String),
    Class(ClassNode),
    /// `object.name(args)`; `Object.values(x)` is how lists are built from a map of components.
    Call {
        object: Option<String>,
        name: String,
        args: Vec<Node>,
    },
    Null,
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Obj {
    /// Where it starts in the file: the object's identity.
    pub at: u32,
    pub props: Vec<(Key, Node)>,
}

impl Obj {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.props.iter().find_map(|(k, v)| match k {
            Key::Name(n) if n == name => Some(v),
            _ => None,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[derive(Debug, Clone)]
pub(super) enum Key {
    Name(String),
    /// `[ModelType.TEXT_LARGE]`, `[KEY]`.
    Computed(Node),
}

#[derive(Debug, Clone)]
pub(super) struct ClassNode {
    pub at: u32,
    pub name: Option<String>,
    /// The superclass when it is named (`Service`, `core.Service` gives `Service`).
    pub extends: Option<String>,
    /// Static fields with a value (`static serviceType = "x"`).
    pub statics: Vec<(String, Node)>,
    /// Instance fields with a value (`capabilityDescription = "…"`).
    pub fields: Vec<(String, Node)>,
}

/// What one walk keeps of a file.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Declarations by name; one at the file's top level wins over a nested one of the same name.
    pub decls: HashMap<String, Node>,
    top_level: HashSet<String>,
    /// Object literals with a `name`, a plugin's lists, or `start` and `stop`, with the name they are
    /// bound to.
    pub objects: Vec<(Option<String>, Obj)>,
    seen_objects: HashSet<u32>,
    pub classes: Vec<ClassNode>,
    seen_classes: HashSet<u32>,
    /// `runtime.registerAction(x)` and the like: the method and its argument.
    pub registered: Vec<(String, Node)>,
    /// `X.serviceType = …` after a class (how bundlers write static fields).
    pub assigned_statics: Vec<(String, String, Node)>,
    /// `this.runtime.ensureConnection(…)`, `runtime.registerSendHandler(…)` or
    /// `messageService.handleMessage(…)` from a class: a connector.
    pub client: bool,
    /// `this.runtime.emitEvent(…MESSAGE_RECEIVED…)`, and rooms, worlds or people made on `this.runtime`:
    /// together, a connector.
    pub emits_received: bool,
    pub makes_rooms: bool,
    /// `runtime.registerDatabaseAdapter(…)`, or a class extending a `…DatabaseAdapter`.
    pub adapter: bool,
    /// Values left out because the file's budget ran out.
    pub cut: bool,
    depth: u32,
    budget: usize,
}

impl Scan {
    pub fn of(program: &Program<'_>) -> Scan {
        let mut scan = Scan {
            budget: BUDGET,
            ..Scan::default()
        };
        scan.visit_program(program);
        scan
    }

    fn spend(&mut self) -> bool {
        if self.budget == 0 {
            self.cut = true;
            return false;
        }
        self.budget -= 1;
        true
    }

    fn declare(&mut self, name: &str, node: Node) {
        if self.depth == 0 {
            self.top_level.insert(name.to_string());
            self.decls.insert(name.to_string(), node);
        } else if !self.top_level.contains(name) {
            self.decls.entry(name.to_string()).or_insert(node);
        }
    }

    fn node(&mut self, e: &Expression<'_>, depth: u32) -> Node {
        if !self.spend() {
            return Node::Other;
        }
        match e.without_parentheses() {
            Expression::StringLiteral(s) => Node::Str(cut(s.value.as_str())),
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
                Node::Str(cut(&template_text(t)))
            }
            Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                match (self.node(&b.left, depth), self.node(&b.right, depth)) {
                    (Node::Str(l), Node::Str(r)) => Node::Str(cut(&(l + &r))),
                    _ => Node::Other,
                }
            }
            Expression::Identifier(id) => Node::Ident(id.name.as_str().to_string()),
            Expression::NullLiteral(_) => Node::Null,
            Expression::StaticMemberExpression(m) => {
                let object = match m.object.without_parentheses() {
                    Expression::Identifier(id) => Some(id.name.as_str().to_string()),
                    _ => None,
                };
                Node::Member(object, m.property.name.as_str().to_string())
            }
            Expression::ObjectExpression(o) if depth < MAX_DEPTH => {
                Node::Object(self.object(o, depth + 1))
            }
            Expression::ArrayExpression(a) if depth < MAX_DEPTH => {
                let mut items = Vec::new();
                for element in a.elements.iter().take(MAX_ITEMS) {
                    let item = match element {
                        ArrayExpressionElement::SpreadElement(s) => {
                            Node::Spread(Box::new(self.node(&s.argument, depth + 1)))
                        }
                        ArrayExpressionElement::Elision(_) => Node::Other,
                        other => match other.as_expression() {
                            Some(e) => self.node(e, depth + 1),
                            None => Node::Other,
                        },
                    };
                    items.push(item);
                }
                Node::Array(items)
            }
            Expression::ArrowFunctionExpression(f) => Node::Func(params(&f.params)),
            Expression::FunctionExpression(f) => Node::Func(params(&f.params)),
            Expression::ClassExpression(c) if depth < MAX_DEPTH => Node::Class(self.class(c)),
            Expression::NewExpression(n) => match n.callee.without_parentheses() {
                Expression::Identifier(id) => Node::New(id.name.as_str().to_string()),
                _ => Node::Other,
            },
            Expression::CallExpression(c) if depth < MAX_DEPTH => {
                let (object, name) = match c.callee.without_parentheses() {
                    Expression::Identifier(id) => (None, id.name.as_str().to_string()),
                    Expression::StaticMemberExpression(m) => (
                        match m.object.without_parentheses() {
                            Expression::Identifier(id) => Some(id.name.as_str().to_string()),
                            _ => None,
                        },
                        m.property.name.as_str().to_string(),
                    ),
                    _ => return Node::Other,
                };
                let args = c
                    .arguments
                    .iter()
                    .take(4)
                    .map(|a| match a.as_expression() {
                        Some(e) => self.node(e, depth + 1),
                        None => Node::Other,
                    })
                    .collect();
                Node::Call { object, name, args }
            }
            _ => Node::Other,
        }
    }

    fn object(&mut self, o: &ObjectExpression<'_>, depth: u32) -> Obj {
        let mut props = Vec::new();
        for property in o.properties.iter().take(MAX_ITEMS) {
            let ObjectPropertyKind::ObjectProperty(p) = property else {
                continue;
            };
            let key = match &p.key {
                PropertyKey::StaticMemberExpression(m) => Key::Computed(Node::Member(
                    match m.object.without_parentheses() {
                        Expression::Identifier(id) => Some(id.name.as_str().to_string()),
                        _ => None,
                    },
                    m.property.name.as_str().to_string(),
                )),
                PropertyKey::Identifier(id) if p.computed => {
                    Key::Computed(Node::Ident(id.name.as_str().to_string()))
                }
                key => match key.static_name() {
                    Some(name) => Key::Name(cut(&name)),
                    None => continue,
                },
            };
            let value = if matches!(p.kind, PropertyKind::Get | PropertyKind::Set) {
                Node::Func(Vec::new())
            } else {
                self.node(&p.value, depth)
            };
            props.push((key, value));
        }
        Obj {
            at: o.span.start,
            props,
        }
    }

    fn class(&mut self, c: &Class<'_>) -> ClassNode {
        let extends = c
            .heritage
            .as_ref()
            .and_then(|h| match h.expression.without_parentheses() {
                Expression::Identifier(id) => Some(id.name.as_str().to_string()),
                Expression::StaticMemberExpression(m) => Some(m.property.name.as_str().to_string()),
                _ => None,
            });
        let mut statics = Vec::new();
        let mut fields = Vec::new();
        for element in c.body.body.iter().take(MAX_ITEMS) {
            let (name, value, is_static) = match element {
                ClassElement::PropertyDefinition(p) => match (p.key.static_name(), &p.value) {
                    (Some(name), Some(value)) => (name, value, p.r#static),
                    _ => continue,
                },
                // `static get serviceType() { return "x"; }`: what the getter returns.
                ClassElement::MethodDefinition(m) if m.kind == MethodDefinitionKind::Get => {
                    let returned = m
                        .value
                        .body
                        .as_ref()
                        .and_then(|b| match b.statements.first() {
                            Some(Statement::ReturnStatement(r)) => r.argument.as_ref(),
                            _ => None,
                        });
                    match (m.key.static_name(), returned) {
                        (Some(name), Some(value)) => (name, value, m.r#static),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let value = self.node(value, MAX_DEPTH - 1);
            if is_static {
                statics.push((name.to_string(), value));
            } else {
                fields.push((name.to_string(), value));
            }
        }
        ClassNode {
            at: c.span.start,
            name: c.id.as_ref().map(|id| id.name.as_str().to_string()),
            extends,
            statics,
            fields,
        }
    }
}

impl<'a> Visit<'a> for Scan {
    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if let (BindingPattern::BindingIdentifier(id), Some(init)) = (&it.id, &it.init) {
            let name = id.name.as_str();
            let node = self.node(init, 0);
            match &node {
                Node::Object(o) if candidate(o) => {
                    self.seen_objects.insert(o.at);
                    self.objects.push((Some(name.to_string()), o.clone()));
                }
                Node::Class(c) => {
                    self.seen_classes.insert(c.at);
                    self.classes.push(c.clone());
                }
                _ => {}
            }
            self.declare(name, node);
        }
        walk::walk_variable_declarator(self, it);
    }

    fn visit_object_expression(&mut self, it: &ObjectExpression<'a>) {
        let worth = it.properties.iter().any(|p| {
            matches!(p, ObjectPropertyKind::ObjectProperty(p)
                if p.key.static_name().is_some_and(|k| k == "name" || k == "start" || PLUGIN_LISTS.contains(&k.as_ref())))
        });
        if worth && !self.seen_objects.contains(&it.span.start) {
            let o = self.object(it, 1);
            if candidate(&o) {
                self.seen_objects.insert(o.at);
                self.objects.push((None, o));
            }
        }
        walk::walk_object_expression(self, it);
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        if !self.seen_classes.contains(&it.span.start) && self.spend() {
            let class = self.class(it);
            self.seen_classes.insert(class.at);
            if let Some(name) = &class.name {
                self.declare(name, Node::Class(class.clone()));
            }
            self.classes.push(class);
        }
        if self.classes.iter().any(|c| {
            c.at == it.span.start
                && c.extends
                    .as_deref()
                    .is_some_and(|e| e.ends_with("DatabaseAdapter"))
        }) {
            self.adapter = true;
        }
        self.depth += 1;
        walk::walk_class(self, it);
        self.depth -= 1;
    }

    /// Functions and arrows: what is declared inside is not the file's top level.
    fn visit_function_body(&mut self, it: &FunctionBody<'a>) {
        self.depth += 1;
        walk::walk_function_body(self, it);
        self.depth -= 1;
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Expression::StaticMemberExpression(m) = it.callee.without_parentheses() {
            let method = m.property.name.as_str();
            let on_this_runtime = is_this_runtime(&m.object);
            let on_runtime = on_this_runtime
                || matches!(m.object.without_parentheses(),
                    Expression::Identifier(id) if id.name.as_str().to_ascii_lowercase().contains("runtime"));
            match method {
                "registerAction" | "registerProvider" | "registerEvaluator" | "registerService"
                | "registerModel"
                    if on_runtime =>
                {
                    if let Some(arg) = it.arguments.first().and_then(Argument::as_expression) {
                        let node = self.node(arg, 0);
                        self.registered.push((method.to_string(), node));
                    }
                }
                "ensureConnection" if on_this_runtime => self.client = true,
                "registerSendHandler" if on_runtime => self.client = true,
                // elizaOS 2's connectors hand what arrives to the runtime's message service, from
                // the class that keeps the runtime (a cron job handing its own message does so from a
                // function given the runtime).
                "handleMessage"
                    if match m.object.without_parentheses() {
                        Expression::Identifier(id) => id
                            .name
                            .as_str()
                            .to_ascii_lowercase()
                            .ends_with("messageservice"),
                        Expression::StaticMemberExpression(inner) => {
                            inner.property.name == "messageService"
                                && is_this_runtime(&inner.object)
                        }
                        _ => false,
                    } =>
                {
                    self.client = true
                }
                // A connector tells the runtime that a message was received (with rooms and people
                // of its platform made for it: a reminder service says so too, of its own messages).
                "emitEvent"
                    if on_this_runtime
                        && it
                            .arguments
                            .first()
                            .and_then(Argument::as_expression)
                            .is_some_and(|e| match e.without_parentheses() {
                                Expression::StaticMemberExpression(k) => {
                                    k.property.name == "MESSAGE_RECEIVED"
                                }
                                Expression::StringLiteral(s) => s.value == "MESSAGE_RECEIVED",
                                _ => false,
                            }) =>
                {
                    self.emits_received = true
                }
                "createRoom" | "createEntity" | "createWorld" | "ensureRoomExists"
                | "ensureWorldExists"
                    if on_this_runtime =>
                {
                    self.makes_rooms = true
                }
                "registerDatabaseAdapter" if on_runtime => self.adapter = true,
                _ => {}
            }
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        if let AssignmentTarget::StaticMemberExpression(m) = &it.left
            && let Expression::Identifier(id) = m.object.without_parentheses()
            && matches!(
                m.property.name.as_str(),
                "serviceType" | "capabilityDescription"
            )
        {
            let value = self.node(&it.right, MAX_DEPTH - 1);
            self.assigned_statics.push((
                id.name.as_str().to_string(),
                m.property.name.as_str().to_string(),
                value,
            ));
        }
        walk::walk_assignment_expression(self, it);
    }
}

/// `this.runtime`: the runtime a class keeps, as connectors' clients do.
fn is_this_runtime(e: &Expression<'_>) -> bool {
    matches!(e.without_parentheses(),
        Expression::StaticMemberExpression(inner)
            if inner.property.name == "runtime"
                && matches!(inner.object.without_parentheses(), Expression::ThisExpression(_)))
}

/// Worth keeping: an object with a `name`, with one of a plugin's lists, or with `start` and `stop` (an
/// elizaOS 0.x client).
fn candidate(o: &Obj) -> bool {
    o.has("name") || PLUGIN_LISTS.iter().any(|k| o.has(k)) || (o.has("start") && o.has("stop"))
}

fn params(p: &FormalParameters<'_>) -> Vec<String> {
    p.items
        .iter()
        .take(3)
        .map(|item| match &item.pattern {
            BindingPattern::BindingIdentifier(id) => id.name.as_str().to_string(),
            _ => String::new(),
        })
        .collect()
}

fn template_text(t: &TemplateLiteral<'_>) -> String {
    t.quasis
        .iter()
        .map(|q| {
            q.value
                .cooked
                .as_ref()
                .map_or(q.value.raw.as_str(), |c| c.as_str())
        })
        .collect()
}

/// At most `MAX_STRING` characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_STRING) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}
