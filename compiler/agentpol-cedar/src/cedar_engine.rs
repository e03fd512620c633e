//! Cedar's own `Authorizer` on the emitted files, behind [`DecisionEngine`].
//!
//! The query protocol (README.md, "Deciding"):
//!
//! 1. Validate the request exactly as the other engines do.
//! 2. Ask Cedar with `context.approved = false`. Allow → **allow**.
//! 3. For a tool call, ask again with `context.approved = true`.
//!    Allow → **ask** (allowed once a human approves).
//! 4. Otherwise **deny**.
//!
//! A Cedar evaluation error in any policy is treated as a failure to
//! decide (deny): Cedar skips an erroring policy, and a skipped `forbid`
//! would allow more than the source.

use crate::codes;
use crate::meta::{Meta, ENCODING_VERSION};
use crate::names::{self, action_name, qualified, skill_id, MAX_ARGS, MAX_SEGMENTS};
use agentpol_core::eval::request_check::ParamValue;
use agentpol_core::eval::RequestError;
use agentpol_core::ir::{Action, Effect, ParamType, RuleId, Value};
use agentpol_core::request::{Decision, MatchedRule, Request};
use agentpol_decide::prepare::{self, ArgVal, Body, Catalog, PathVal, Prepared, ToolCall};
use agentpol_decide::{verb, DecisionEngine};
use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::str::FromStr;

/// Why Cedar files could not be loaded (`AP0604`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Which file or check.
    pub what: String,
    /// Cedar's (or our) message.
    pub message: String,
}

impl LoadError {
    fn new(what: impl Into<String>, message: impl std::fmt::Display) -> LoadError {
        LoadError {
            what: what.into(),
            message: message.to_string(),
        }
    }

    /// The registered code.
    pub fn code(&self) -> &'static agentpol_core::diag::CodeInfo {
        &codes::CEDAR_BAD_ARTIFACTS
    }

    /// As a diagnostic at `span` (the file named in `what`, as the caller
    /// loaded it into its source map; an empty span at its start is fine).
    pub fn to_diag(&self, span: agentpol_core::span::Span) -> agentpol_core::diag::Diag {
        agentpol_core::diag::Diag::error(
            &codes::CEDAR_BAD_ARTIFACTS,
            span,
            format!("the Cedar files cannot be used: {}", self.what),
        )
        .label(self.message.clone())
        .help("rebuild the directory with `agentpolc build --target cedar -o DIR` and do not edit the generated files")
        .note("every request is refused (fail closed) until the files are rebuilt")
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error[{}]: the Cedar files cannot be used: {}: {}\n  help: rebuild them with `agentpolc build --target cedar` and do not edit them",
            codes::CEDAR_BAD_ARTIFACTS.code,
            self.what,
            self.message
        )
    }
}

impl std::error::Error for LoadError {}

/// The four files of the Cedar target, as text.
#[derive(Clone, Debug)]
pub struct CedarFiles {
    /// `schema.cedarschema`.
    pub schema: String,
    /// `policies.cedar`.
    pub policies: String,
    /// `entities.json`.
    pub entities: String,
    /// `agentpol-cedar.json`.
    pub meta: String,
}

/// What a Cedar policy stands for.
#[derive(Clone, Debug)]
enum Role {
    /// The policy of a rule (for `ask`: its approved permit, or with
    /// `unapproved` its forbid).
    Rule { rule: RuleId, unapproved: bool },
    /// A skill gate of an agent.
    Gate,
}

/// Cedar's authorizer on the emitted policies.
#[derive(Clone, Debug)]
pub struct CedarEngine {
    meta: Meta,
    /// Built from `meta`: the validator every engine of `agentpol-decide` uses.
    cat: Catalog,
    schema: Schema,
    policies: PolicySet,
    roles: HashMap<PolicyId, Role>,
    actions: HashMap<String, EntityUid>,
    types: Types,
}

#[derive(Clone, Debug)]
struct Types {
    agent: EntityTypeName,
    skill: EntityTypeName,
    path: EntityTypeName,
    endpoint: EntityTypeName,
    env: EntityTypeName,
    tool: EntityTypeName,
}

fn type_name(t: &str) -> Result<EntityTypeName, LoadError> {
    EntityTypeName::from_str(&qualified(t)).map_err(|e| LoadError::new("entity type", e))
}

impl CedarEngine {
    /// Loads the files and checks them: the schema and policies parse, the
    /// policies pass strict validation, the entities conform, and every
    /// policy's `@id` maps to a rule of the metadata or a gate.
    pub fn from_files(files: &CedarFiles) -> Result<CedarEngine, LoadError> {
        // The version first: another version's file may not have this one's shape.
        #[derive(serde::Deserialize)]
        struct Version {
            encoding_version: u32,
        }
        let version: Version = serde_json::from_str(&files.meta)
            .map_err(|e| LoadError::new("agentpol-cedar.json", e))?;
        if version.encoding_version != ENCODING_VERSION {
            return Err(LoadError::new(
                "agentpol-cedar.json",
                format!(
                    "encoding version {} (this agentpolc reads {ENCODING_VERSION})",
                    version.encoding_version
                ),
            ));
        }
        let meta: Meta = serde_json::from_str(&files.meta)
            .map_err(|e| LoadError::new("agentpol-cedar.json", e))?;
        if meta.max_segments != MAX_SEGMENTS || meta.max_args != MAX_ARGS {
            return Err(LoadError::new(
                "agentpol-cedar.json",
                "written with other segment or argument limits",
            ));
        }
        let (schema, _) = Schema::from_cedarschema_str(&files.schema)
            .map_err(|e| LoadError::new("schema.cedarschema", e))?;
        let parsed = PolicySet::from_str(&files.policies)
            .map_err(|e| LoadError::new("policies.cedar", e))?;
        // Name every policy by its `@id` (as the Cedar CLI does), so Cedar's
        // reasons and validation errors speak in rule ids.
        let mut policies = PolicySet::new();
        let mut roles = HashMap::new();
        for p in parsed.policies() {
            let id = p.annotation("id").ok_or_else(|| {
                LoadError::new("policies.cedar", format!("policy {} has no @id", p.id()))
            })?;
            let role = if p.annotation("gate").is_some() {
                Role::Gate
            } else {
                let rule = p.annotation("rule").ok_or_else(|| {
                    LoadError::new(
                        "policies.cedar",
                        format!("policy {id} has neither @rule nor @gate"),
                    )
                })?;
                let rule = RuleId(rule.to_string());
                if !meta.rules.contains_key(&rule) {
                    return Err(LoadError::new(
                        "policies.cedar",
                        format!("policy {id} names rule {rule}, which agentpol-cedar.json does not list"),
                    ));
                }
                Role::Rule {
                    unapproved: id.ends_with("#unapproved"),
                    rule,
                }
            };
            let pid = PolicyId::new(id);
            policies
                .add(p.new_id(pid.clone()))
                .map_err(|e| LoadError::new("policies.cedar", format!("policy {id}: {e}")))?;
            roles.insert(pid, role);
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let mut errors: Vec<String> =
                result.validation_errors().map(|e| e.to_string()).collect();
            // Cedar reports in hash order; sort for stable messages.
            errors.sort();
            errors.dedup();
            let more = errors.len().saturating_sub(3);
            errors.truncate(3);
            if more > 0 {
                errors.push(format!("and {more} more"));
            }
            return Err(LoadError::new(
                "policies.cedar (strict validation)",
                errors.join("; "),
            ));
        }
        Entities::from_json_str(&files.entities, Some(&schema))
            .map_err(|e| LoadError::new("entities.json", e))?;
        let mut actions = HashMap::new();
        let mut names_: Vec<String> = names::BASE_ACTIONS
            .iter()
            .map(|a| action_name(*a, None))
            .collect();
        names_.extend(
            meta.tools
                .iter()
                .map(|t| action_name(Action::Call, Some(&t.name))),
        );
        for n in names_ {
            let uid = EntityUid::from_str(&names::action_uid(&n))
                .map_err(|e| LoadError::new("action name", e))?;
            actions.insert(n, uid);
        }
        let types = Types {
            agent: type_name(names::AGENT)?,
            skill: type_name(names::SKILL)?,
            path: type_name(names::PATH)?,
            endpoint: type_name(names::ENDPOINT)?,
            env: type_name(names::ENV_VAR)?,
            tool: type_name(names::TOOL)?,
        };
        Ok(CedarEngine {
            cat: Catalog::new(meta.catalog_parts()),
            meta,
            schema,
            policies,
            roles,
            actions,
            types,
        })
    }

    /// The metadata the engine was loaded with.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The Cedar request for `req` as JSON: `principal`, `action`, `resource`
    /// (as `Type::"id"` strings), `context` and `entities` (the per-request
    /// entities: principal, its agent, the resource, in Cedar's entity JSON
    /// format). What a caller of a stock Cedar authorizer (or `cedar
    /// authorize`) would send.
    pub fn cedar_request_json(&self, req: &Request, approved: bool) -> Result<Json, RequestError> {
        let p = prepare::prepare(&self.cat, req)?;
        let q = self.query(&p)?;
        let context = CVal::Rec(q.context_pairs(approved));
        Ok(json!({
            "principal": q.principal.to_string(),
            "action": q.action.to_string(),
            "resource": q.resource.to_string(),
            "context": context.to_json(),
            "entities": q.entities.iter().map(EntSpec::to_json).collect::<Vec<_>>(),
        }))
    }

    /// The Cedar request and entities for `req` (with `approved` as given)
    /// and the policy set: exactly what [`DecisionEngine::decide`] hands to
    /// `Authorizer::is_authorized`. For benchmarks of Cedar alone.
    pub fn authorizer_inputs(
        &self,
        req: &Request,
        approved: bool,
    ) -> Result<(cedar_policy::Request, Entities, &PolicySet), RequestError> {
        let p = prepare::prepare(&self.cat, req)?;
        let q = self.query(&p)?;
        let entities = self.entities(&q)?;
        let request = self.request(&q, approved)?;
        Ok((request, entities, &self.policies))
    }

    fn query(&self, p: &Prepared<'_>) -> Result<Query, RequestError> {
        let agent = self
            .meta
            .agents
            .get(p.agent)
            .ok_or_else(|| internal("agent index"))?;
        let mut entities = vec![EntSpec {
            ty: self.types.agent.clone(),
            id: agent.name.clone(),
            attrs: Vec::new(),
            parent: None,
        }];
        let principal = match p.skill.and_then(|s| agent.skills.get(s)) {
            None => euid(&self.types.agent, &agent.name),
            Some(s) => {
                let id = skill_id(&agent.name, s);
                entities.push(EntSpec {
                    ty: self.types.skill.clone(),
                    id: id.clone(),
                    attrs: Vec::new(),
                    parent: Some(euid(&self.types.agent, &agent.name)),
                });
                euid(&self.types.skill, &id)
            }
        };
        let action_key = match &p.body {
            Body::Tool(call) => action_name(Action::Call, Some(&call.sig.name)),
            b => action_name(b.action(), None),
        };
        let action = self
            .actions
            .get(&action_key)
            .cloned()
            .ok_or_else(|| internal("action"))?;
        let mut is_tool = false;
        let (resource, context) = match &p.body {
            Body::Fs { path, .. } => {
                entities.push(EntSpec {
                    ty: self.types.path.clone(),
                    id: path.path.to_string(),
                    attrs: path_record(path),
                    parent: None,
                });
                (euid(&self.types.path, path.path), Vec::new())
            }
            Body::Exec { path, args } => {
                entities.push(EntSpec {
                    ty: self.types.path.clone(),
                    id: path.path.to_string(),
                    attrs: path_record(path),
                    parent: None,
                });
                let argv = args
                    .iter()
                    .take(MAX_ARGS)
                    .enumerate()
                    .map(|(i, a)| (format!("a{i}"), CVal::Str(a.clone())))
                    .collect();
                (
                    euid(&self.types.path, path.path),
                    vec![
                        ("argc".to_string(), CVal::Long(len_i64(args.len()))),
                        ("argv".to_string(), CVal::Rec(argv)),
                    ],
                )
            }
            Body::Net {
                proto,
                addr,
                domain,
                port,
                ..
            } => {
                let proto = match proto {
                    agentpol_core::ir::Proto::Udp => "udp",
                    _ => "tcp",
                };
                let mut attrs = vec![
                    ("proto".to_string(), CVal::Str(proto.into())),
                    ("port".to_string(), CVal::Long(i64::from(*port))),
                ];
                if let Some(a) = addr {
                    attrs.push(("addr".into(), CVal::Ip(a.to_string())));
                }
                if let Some(d) = domain {
                    attrs.push(("domain".into(), CVal::Str(d.clone())));
                }
                let id = format!(
                    "{proto}/{}/{}/{port}",
                    addr.map(|a| a.to_string()).unwrap_or_default(),
                    domain.as_deref().unwrap_or("")
                );
                entities.push(EntSpec {
                    ty: self.types.endpoint.clone(),
                    id: id.clone(),
                    attrs,
                    parent: None,
                });
                (euid(&self.types.endpoint, &id), Vec::new())
            }
            Body::Env { var } => (euid(&self.types.env, var), Vec::new()),
            Body::Tool(
                call @ ToolCall {
                    sig,
                    args,
                    params,
                    tainted,
                    ..
                },
            ) => {
                is_tool = true;
                let a = sig
                    .args
                    .iter()
                    .zip(args)
                    .map(|(decl, v)| (decl.name.clone(), arg_val(v)))
                    .collect();
                let mut ps = Vec::new();
                for name in self
                    .meta
                    .context_params
                    .get(&sig.name)
                    .into_iter()
                    .flatten()
                {
                    let ty = self
                        .meta
                        .params
                        .iter()
                        .find(|d| &d.name == name)
                        .map(|d| d.ty)
                        .ok_or_else(|| internal("param"))?;
                    // A param no rule of the requesting owners reads does not
                    // change their decision; Cedar's context type still wants
                    // a value, so a neutral one stands in.
                    let v = match params.get(name.as_str()) {
                        Some(v) => param_val(v),
                        None => neutral(ty),
                    };
                    ps.push((name.clone(), v));
                }
                (
                    euid(&self.types.tool, &sig.name),
                    vec![
                        ("args".to_string(), CVal::Rec(a)),
                        ("params".to_string(), CVal::Rec(ps)),
                        (
                            "tainted".to_string(),
                            CVal::Set(tainted.iter().map(|t| CVal::Str(t.clone())).collect()),
                        ),
                        (
                            "contains_secret".to_string(),
                            CVal::Set(
                                self.meta
                                    .secret_vars
                                    .iter()
                                    .filter(|v| call.contains_secret(v))
                                    .map(|v| CVal::Str(v.clone()))
                                    .collect(),
                            ),
                        ),
                    ],
                )
            }
        };
        Ok(Query {
            principal,
            action,
            resource,
            context,
            is_tool,
            entities,
        })
    }

    /// The per-request entities. Built without the schema: their shapes
    /// are fixed by construction, and a wrong one surfaces as a Cedar
    /// evaluation error, which [`CedarEngine::authorize`] refuses.
    fn entities(&self, q: &Query) -> Result<Entities, RequestError> {
        let mut list = Vec::with_capacity(q.entities.len());
        for e in &q.entities {
            let attrs = e
                .attrs
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.to_expr()?)))
                .collect::<Result<HashMap<_, _>, RequestError>>()?;
            let parents = e.parent.iter().cloned().collect();
            let entity = cedar_policy::Entity::new(euid(&e.ty, &e.id), attrs, parents)
                .map_err(|err| internal(&format!("Cedar entity: {err}")))?;
            list.push(entity);
        }
        Entities::from_entities(list, None).map_err(|e| internal(&format!("Cedar entities: {e}")))
    }

    /// The Cedar request, its context checked against the schema.
    fn request(&self, q: &Query, approved: bool) -> Result<cedar_policy::Request, RequestError> {
        let pairs = q
            .context_pairs(approved)
            .into_iter()
            .map(|(k, v)| Ok((k, v.to_expr()?)))
            .collect::<Result<Vec<_>, RequestError>>()?;
        let context =
            Context::from_pairs(pairs).map_err(|e| internal(&format!("Cedar context: {e}")))?;
        cedar_policy::Request::new(
            q.principal.clone(),
            q.action.clone(),
            q.resource.clone(),
            context,
            Some(&self.schema),
        )
        .map_err(|e| internal(&format!("Cedar request: {e}")))
    }

    fn authorize(
        &self,
        q: &Query,
        entities: &Entities,
        approved: bool,
    ) -> Result<cedar_policy::Response, RequestError> {
        let request = self.request(q, approved)?;
        let response = Authorizer::new().is_authorized(&request, &self.policies, entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(internal(&format!(
                "a Cedar policy failed to evaluate: {}",
                errors.join("; ")
            )));
        }
        Ok(response)
    }

    /// The rules among Cedar's reasons, filtered by role.
    fn reasons(
        &self,
        r: &cedar_policy::Response,
        want: impl Fn(Effect, bool) -> bool,
    ) -> Vec<MatchedRule> {
        let mut out: Vec<MatchedRule> = Vec::new();
        for pid in r.diagnostics().reason() {
            if let Some(Role::Rule { rule, unapproved }) = self.roles.get(pid) {
                if let Some(m) = self.meta.rules.get(rule) {
                    if want(m.effect, *unapproved) && !out.iter().any(|x| &x.id == rule) {
                        out.push(MatchedRule {
                            id: rule.clone(),
                            effect: m.effect,
                            owner: m.owner.clone(),
                            src: m.src,
                        });
                    }
                }
            }
        }
        // Rule order, as the other engines report.
        let rules = &self.meta.rules;
        out.sort_by_key(|m| rules.get(&m.id).map(|r| r.order).unwrap_or(u32::MAX));
        out
    }

    fn gates_fired(&self, r: &cedar_policy::Response) -> Vec<String> {
        r.diagnostics()
            .reason()
            .filter(|pid| matches!(self.roles.get(*pid), Some(Role::Gate)))
            .filter_map(|pid| self.policies.annotation(pid, "id").map(str::to_string))
            .collect()
    }
}

struct Query {
    principal: EntityUid,
    action: EntityUid,
    resource: EntityUid,
    /// The context without `approved`.
    context: Vec<(String, CVal)>,
    is_tool: bool,
    entities: Vec<EntSpec>,
}

impl Query {
    fn context_pairs(&self, approved: bool) -> Vec<(String, CVal)> {
        let mut c = self.context.clone();
        if self.is_tool {
            c.push(("approved".into(), CVal::Bool(approved)));
        }
        c
    }
}

/// A per-request entity.
struct EntSpec {
    ty: EntityTypeName,
    id: String,
    attrs: Vec<(String, CVal)>,
    parent: Option<EntityUid>,
}

impl EntSpec {
    fn to_json(&self) -> Json {
        let parents: Vec<Json> = self
            .parent
            .iter()
            .map(|p| json!({"type": p.type_name().to_string(), "id": p.id().unescaped()}))
            .collect();
        json!({
            "uid": {"type": self.ty.to_string(), "id": self.id},
            "attrs": CVal::Rec(self.attrs.clone()).to_json(),
            "parents": parents,
        })
    }
}

/// A Cedar value under construction: rendered as a Cedar value for the
/// authorizer, or as Cedar's JSON for callers that run Cedar themselves.
#[derive(Clone, Debug)]
enum CVal {
    Str(String),
    Long(i64),
    Bool(bool),
    Ip(String),
    Set(Vec<CVal>),
    Rec(Vec<(String, CVal)>),
}

impl CVal {
    fn to_expr(&self) -> Result<RestrictedExpression, RequestError> {
        Ok(match self {
            CVal::Str(s) => RestrictedExpression::new_string(s.clone()),
            CVal::Long(i) => RestrictedExpression::new_long(*i),
            CVal::Bool(b) => RestrictedExpression::new_bool(*b),
            CVal::Ip(a) => RestrictedExpression::new_ip(a),
            CVal::Set(items) => RestrictedExpression::new_set(
                items
                    .iter()
                    .map(CVal::to_expr)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            CVal::Rec(fields) => RestrictedExpression::new_record(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_expr()?)))
                    .collect::<Result<Vec<_>, RequestError>>()?,
            )
            .map_err(|e| internal(&format!("Cedar record: {e}")))?,
        })
    }

    fn to_json(&self) -> Json {
        match self {
            CVal::Str(s) => json!(s),
            CVal::Long(i) => json!(i),
            CVal::Bool(b) => json!(b),
            CVal::Ip(a) => json!({"__extn": {"fn": "ip", "arg": a}}),
            CVal::Set(items) => Json::Array(items.iter().map(CVal::to_json).collect()),
            CVal::Rec(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn internal(what: &str) -> RequestError {
    RequestError::new(
        &codes::CEDAR_EVAL_FAILED,
        "",
        format!("the Cedar engine failed internally: {what}"),
        "this is a bug in agentpol; decide with `--engine index` or `--engine eval` and report it",
    )
}

fn euid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The path record (see `glob.rs`).
fn path_record(p: &PathVal<'_>) -> Vec<(String, CVal)> {
    let seg = p
        .segs
        .iter()
        .take(MAX_SEGMENTS)
        .enumerate()
        .map(|(i, s)| (format!("s{i}"), CVal::Str((*s).to_string())))
        .collect();
    let rseg = p
        .segs
        .iter()
        .rev()
        .take(MAX_SEGMENTS)
        .enumerate()
        .map(|(i, s)| (format!("s{i}"), CVal::Str((*s).to_string())))
        .collect();
    vec![
        ("path".into(), CVal::Str(p.path.to_string())),
        ("depth".into(), CVal::Long(len_i64(p.segs.len()))),
        ("seg".into(), CVal::Rec(seg)),
        ("rseg".into(), CVal::Rec(rseg)),
    ]
}

fn arg_val(v: &ArgVal<'_>) -> CVal {
    match v {
        ArgVal::Str(s) => CVal::Str((*s).to_string()),
        ArgVal::Int(i) => CVal::Long(*i),
        ArgVal::Bool(b) => CVal::Bool(*b),
        ArgVal::Path(p) => CVal::Rec(path_record(p)),
        ArgVal::Url(u) => {
            let mut m = vec![
                ("raw".to_string(), CVal::Str(u.raw.to_string())),
                ("scheme".to_string(), CVal::Str(u.scheme.clone())),
                ("path".to_string(), CVal::Str(u.path.clone())),
            ];
            if let Some(h) = &u.host {
                m.push(("host".into(), CVal::Str(h.clone())));
            }
            if let Some(d) = &u.domain {
                m.push(("domain".into(), CVal::Str(d.clone())));
            }
            if let Some(ip) = &u.ip {
                m.push(("ip".into(), CVal::Ip(ip.to_string())));
            }
            if let Some(port) = u.port {
                m.push(("port".into(), CVal::Long(port)));
            }
            CVal::Rec(m)
        }
    }
}

fn value_val(v: &Value) -> CVal {
    match v {
        Value::Bool(b) => CVal::Bool(*b),
        Value::Int(i) => CVal::Long(*i),
        Value::Str(s) => CVal::Str(s.clone()),
    }
}

fn param_val(v: &ParamValue) -> CVal {
    match v {
        ParamValue::Scalar(v) => value_val(v),
        ParamValue::Set(items) => CVal::Set(items.iter().map(value_val).collect()),
    }
}

fn neutral(ty: ParamType) -> CVal {
    match ty {
        ParamType::String => CVal::Str(String::new()),
        ParamType::Int => CVal::Long(0),
        ParamType::Bool => CVal::Bool(false),
        ParamType::SetString | ParamType::SetInt => CVal::Set(Vec::new()),
    }
}

impl DecisionEngine for CedarEngine {
    fn name(&self) -> &'static str {
        "cedar"
    }

    fn decide(&self, request: &Request) -> Result<Decision, RequestError> {
        let p = prepare::prepare(&self.cat, request)?;
        let q = self.query(&p)?;
        let entities = self.entities(&q)?;
        let first = self.authorize(&q, &entities, false)?;
        let cat = &self.cat;
        if first.decision() == cedar_policy::Decision::Allow {
            let deciding = self.reasons(&first, |e, _| e == Effect::Allow);
            let reason = format!("{} {}", verb(Effect::Allow), rule_list(cat, &deciding));
            return Ok(Decision {
                effect: Effect::Allow,
                matched: deciding.clone(),
                deciding,
                reason,
            });
        }
        let last = if q.is_tool {
            let second = self.authorize(&q, &entities, true)?;
            if second.decision() == cedar_policy::Decision::Allow {
                let deciding = self.reasons(&second, |e, _| e == Effect::Ask);
                let matched = self.reasons(&second, |_, _| true);
                let reason = format!("{} {}", verb(Effect::Ask), rule_list(cat, &deciding));
                return Ok(Decision {
                    effect: Effect::Ask,
                    deciding,
                    matched,
                    reason,
                });
            }
            second
        } else {
            first
        };
        let deciding = self.reasons(&last, |e, unapproved| e == Effect::Deny && !unapproved);
        let reason = if !deciding.is_empty() {
            format!("{} {}", verb(Effect::Deny), rule_list(cat, &deciding))
        } else {
            let gates = self.gates_fired(&last);
            if gates.is_empty() {
                format!(
                    "default deny: no Cedar permit matches {}",
                    p.body.describe()
                )
            } else {
                format!(
                    "default deny: the agent itself does not permit {} (Cedar gate {})",
                    p.body.describe(),
                    gates.join(", ")
                )
            }
        };
        Ok(Decision {
            effect: Effect::Deny,
            matched: deciding.clone(),
            deciding,
            reason,
        })
    }
}

/// `id (file:line:col)` for each rule, joined.
fn rule_list(cat: &Catalog, rules: &[MatchedRule]) -> String {
    rules
        .iter()
        .map(|r| format!("{} ({})", r.id, cat.location(&r.src)))
        .collect::<Vec<_>>()
        .join(", ")
}
