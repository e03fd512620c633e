//! Findings, reports and their diagnostics.

use crate::codes;
use agentpol_core::diag::{CodeInfo, Diag, Severity};
use agentpol_core::ir::{Effect, Include, RuleId, SourceRef};
use agentpol_core::request::Request;
use serde::Serialize;

/// A rule a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// Its id.
    pub id: RuleId,
    /// Its effect.
    pub effect: Effect,
    /// `agent` or `agent.skill`.
    pub owner: String,
    /// Where it was written.
    pub src: SourceRef,
}

/// What a finding says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Higher-precedence rules (`related`) cover the rule entirely.
    Overridden,
    /// A rule of the same effect (`related[0]`) contains the rule.
    Redundant,
    /// The rule matches nothing.
    Vacuous,
    /// The rule partly overlaps a higher-precedence rule (`related[0]`).
    PartialOverlap,
    /// A skill rule grants a request that no agent rule grants.
    SkillEscalation,
    /// A tool rule allows a URL the net rules make unreachable.
    ToolNetMismatch,
    /// An exec rule allows a binary the fs rules forbid reading.
    ExecFsMismatch,
    /// A tool rule allows a path argument the fs rules forbid reading.
    ToolFsMismatch,
    /// An assertion fails; `witness` is the counterexample.
    AssertionViolated,
    /// An assertion holds.
    AssertionProved,
    /// A question could not be decided (`reason` says why).
    Unknown,
    /// The solver and the evaluator disagree (a verifier bug).
    Internal,
}

impl FindingKind {
    /// The diagnostic code.
    pub fn code(self) -> &'static CodeInfo {
        match self {
            FindingKind::Overridden => &codes::OVERRIDDEN_RULE,
            FindingKind::Redundant => &codes::REDUNDANT_RULE,
            FindingKind::Vacuous => &codes::VACUOUS_RULE,
            FindingKind::PartialOverlap => &codes::PARTIAL_OVERLAP,
            FindingKind::SkillEscalation => &codes::SKILL_ESCALATION,
            FindingKind::ToolNetMismatch => &codes::TOOL_NET_MISMATCH,
            FindingKind::ExecFsMismatch => &codes::EXEC_FS_MISMATCH,
            FindingKind::ToolFsMismatch => &codes::TOOL_FS_MISMATCH,
            FindingKind::AssertionViolated => &codes::ASSERTION_VIOLATED,
            FindingKind::AssertionProved => &codes::ASSERTION_PROVED,
            FindingKind::Unknown => &codes::VERIFIER_UNKNOWN,
            FindingKind::Internal => &codes::VERIFIER_INTERNAL,
        }
    }

    /// The severity findings of this kind have.
    pub fn severity(self) -> Severity {
        match self {
            FindingKind::PartialOverlap | FindingKind::AssertionProved => Severity::Info,
            FindingKind::Overridden
            | FindingKind::Redundant
            | FindingKind::Vacuous
            | FindingKind::ToolNetMismatch
            | FindingKind::ExecFsMismatch
            | FindingKind::Unknown => Severity::Warning,
            FindingKind::SkillEscalation
            | FindingKind::ToolFsMismatch
            | FindingKind::AssertionViolated
            | FindingKind::Internal => Severity::Error,
        }
    }
}

/// One result of the verifier.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What it says.
    pub kind: FindingKind,
    /// How bad it is.
    pub severity: Severity,
    /// Whose rules: `agent` or `agent.skill` (empty for policy-wide findings).
    pub owner: String,
    /// The partition: `fs read`, `net connect`, `tool send_email`...
    pub part: String,
    /// Where to point: the rule, or the assertion.
    pub src: SourceRef,
    /// The rule the finding is about, if it is about a rule.
    pub rule: Option<RuleRef>,
    /// The other rules involved (covering rules, the containing rule, the
    /// overlapping rule, the agent's deciding rules, the net/fs rules...).
    pub related: Vec<RuleRef>,
    /// A concrete request showing it, replayed in the reference evaluator.
    pub witness: Option<Request>,
    /// Further requests (the other layer's request for cross-layer findings).
    pub other_witnesses: Vec<Request>,
    /// The headline.
    pub message: String,
    /// For unknown and internal findings: why.
    pub reason: Option<String>,
    /// When the rule was written in `std` (which the user cannot edit): the
    /// user's `include` that brought it in. The diagnostic then points there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_via: Option<Include>,
}

impl Finding {
    /// The finding as a diagnostic pointing at the rule and every related rule.
    pub fn to_diag(&self) -> Diag {
        let code = self.kind.code();
        let at = self
            .included_via
            .as_ref()
            .map_or(self.src.span, |i| i.site.span);
        let mut d = match self.severity {
            Severity::Error => Diag::error(code, at, self.message.clone()),
            Severity::Warning => Diag::warning(code, at, self.message.clone()),
            Severity::Info => Diag::info(code, at, self.message.clone()),
        };
        let label = match self.kind {
            FindingKind::Overridden => "never takes effect",
            FindingKind::Redundant => "changes no decision",
            FindingKind::Vacuous => "matches no request",
            FindingKind::PartialOverlap => "partly overridden",
            FindingKind::SkillEscalation => "grants more than the agent",
            FindingKind::ToolNetMismatch => "allows a URL the net rules block",
            FindingKind::ExecFsMismatch => "allows a binary fs forbids reading",
            FindingKind::ToolFsMismatch => "lets the tool read what fs forbids",
            FindingKind::AssertionViolated => "does not hold",
            FindingKind::AssertionProved => "proved",
            FindingKind::Unknown => "undecided",
            FindingKind::Internal => "verifier bug",
        };
        d = match &self.included_via {
            None => d.label(label),
            Some(i) => d
                .label(format!("brings in {}, whose rule {label}", i.profile))
                .with_label(
                    self.src.span,
                    format!("{label} (in {}, not editable here)", i.profile),
                ),
        };
        let role = match self.kind {
            FindingKind::Overridden => "overrides it",
            FindingKind::Redundant => "already matches everything it matches",
            FindingKind::PartialOverlap => "overrides part of it",
            FindingKind::SkillEscalation => "the agent's decision comes from here",
            FindingKind::ToolNetMismatch => "blocks the connection",
            FindingKind::ExecFsMismatch => "forbids reading the binary",
            FindingKind::ToolFsMismatch => "forbids reading the path",
            FindingKind::AssertionViolated => "decides the counterexample",
            _ => "involved",
        };
        for r in &self.related {
            d = d.with_label(r.src.span, format!("{role}: {} ({})", r.id, r.effect));
        }
        d = d.help(match self.kind {
            FindingKind::Overridden => {
                "delete the rule, or narrow the higher-precedence rules that cover it".to_string()
            }
            FindingKind::Redundant => "delete this rule (the other one already grants it)".into(),
            FindingKind::Vacuous => "correct the rule's targets or conditions, or delete it".into(),
            FindingKind::PartialOverlap => "nothing to do if this exception is intended".into(),
            FindingKind::SkillEscalation => {
                "grant it in the agent too, or narrow the skill's rule to what the agent allows"
                    .into()
            }
            FindingKind::ToolNetMismatch => {
                "allow the connection in `net`, or narrow the tool rule".into()
            }
            FindingKind::ExecFsMismatch => "allow reading the binary, or drop the exec rule".into(),
            FindingKind::ToolFsMismatch => {
                "narrow the tool rule to paths the fs rules allow (or add a tool deny for them)"
                    .into()
            }
            FindingKind::AssertionViolated => {
                "add the deny the assertion expects, or correct the assertion".into()
            }
            FindingKind::AssertionProved => "nothing to do".into(),
            FindingKind::Unknown => {
                "raise the solver timeout or simplify the rules named; this is not a proof of \
                 absence"
                    .into()
            }
            FindingKind::Internal => {
                "this is a verifier bug: please report it with the policy and this request".into()
            }
        });
        if let Some(i) = &self.included_via {
            d = d.help(format!(
                "the rule is part of {}, which is not edited here: change your own rules named \
                 here, or, if this is expected, put `#[allow({})]` on the line before this include",
                i.profile, code.code
            ));
        }
        if let Some(w) = &self.witness {
            d = d.note(format!("for example: {}", request_json(w)));
            if let Ok(v) = serde_json::to_value(w) {
                d = d.property("witness", v);
            }
        }
        for w in &self.other_witnesses {
            d = d.note(format!("and: {}", request_json(w)));
        }
        if !self.other_witnesses.is_empty() {
            if let Ok(v) = serde_json::to_value(&self.other_witnesses) {
                d = d.property("other_witnesses", v);
            }
        }
        if let Some(r) = &self.reason {
            d = d.note(r.clone());
        }
        if let Some(r) = &self.rule {
            d = d.property("rule", r.id.0.clone().into());
        }
        if !self.related.is_empty() {
            let ids: Vec<serde_json::Value> =
                self.related.iter().map(|r| r.id.0.clone().into()).collect();
            d = d.property("related_rules", ids.into());
        }
        d
    }
}

/// A request as one line of JSON (the format `agentpolc eval` reads).
pub fn request_json(r: &Request) -> String {
    serde_json::to_string(r).unwrap_or_else(|_| format!("{r:?}"))
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Rules analysed.
    pub rules: usize,
    /// (principal, partition) units.
    pub units: usize,
    /// Rule pairs in the same unit (what a naive analysis compares).
    pub pairs_total: usize,
    /// Rule pairs that survived the cheap filters (or, naive: all of them).
    pub pairs_candidate: usize,
    /// Solver checks made.
    pub solver_checks: usize,
    /// Pattern-family explorations computed.
    pub explorations: usize,
    /// Explorations served from the cache.
    pub exploration_hits: usize,
    /// Witnesses replayed in the reference evaluator.
    pub replays: usize,
}

impl Stats {
    pub(crate) fn add(&mut self, o: &Stats) {
        self.rules += o.rules;
        self.units += o.units;
        self.pairs_total += o.pairs_total;
        self.pairs_candidate += o.pairs_candidate;
        self.solver_checks += o.solver_checks;
        self.explorations += o.explorations;
        self.exploration_hits += o.exploration_hits;
        self.replays += o.replays;
    }
}

/// The verifier's answer for a policy.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Findings at or above the requested level, in a stable order.
    pub findings: Vec<Finding>,
    /// Counters.
    pub stats: Stats,
}

impl Report {
    /// The findings as diagnostics.
    pub fn diagnostics(&self) -> Vec<Diag> {
        self.findings.iter().map(Finding::to_diag).collect()
    }

    /// Any error-level finding (escalation, failed assertion, internal)?
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Any question left open?
    pub fn has_unknown(&self) -> bool {
        self.findings.iter().any(|f| f.kind == FindingKind::Unknown)
    }

    /// Any internal error?
    pub fn has_internal(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.kind == FindingKind::Internal)
    }
}

/// Which way a decision moved between two policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The new policy is less strict for the witness.
    Widened,
    /// The new policy is stricter for the witness.
    Narrowed,
}

/// One semantic change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// Widened or narrowed.
    pub direction: Direction,
    /// `agent` or `agent.skill`.
    pub owner: String,
    /// The partition (`fs read`, `tool send_email`, ...).
    pub part: String,
    /// The old decision of the witness.
    pub old: Effect,
    /// The new decision of the witness.
    pub new: Effect,
    /// The rule that grants the witness (the new rule when widened, the old one when narrowed).
    pub rule: RuleRef,
    /// The witness, replayed in the reference evaluator under both policies.
    pub witness: Request,
}

impl Change {
    /// The change as a diagnostic at the granting rule (in its policy's files).
    pub fn to_diag(&self) -> Diag {
        let (code, msg) = match self.direction {
            Direction::Widened => (
                &codes::DIFF_WIDENED,
                format!(
                    "{} {}: the new policy decides {} where the old one decided {}",
                    self.owner, self.part, self.new, self.old
                ),
            ),
            Direction::Narrowed => (
                &codes::DIFF_NARROWED,
                format!(
                    "{} {}: the new policy decides {} where the old one decided {}",
                    self.owner, self.part, self.new, self.old
                ),
            ),
        };
        let d = match self.direction {
            Direction::Widened => Diag::warning(code, self.rule.src.span, msg),
            Direction::Narrowed => Diag::info(code, self.rule.src.span, msg),
        };
        d.label(match self.direction {
            Direction::Widened => format!("grants it now ({})", self.rule.id),
            Direction::Narrowed => format!("granted it before ({})", self.rule.id),
        })
        .help(match self.direction {
            Direction::Widened => "review that the new policy should grant this",
            Direction::Narrowed => "review that the new policy should refuse this",
        })
        .note(format!("for example: {}", request_json(&self.witness)))
    }
}

/// The semantic difference between two policies.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// Changes, widenings first, in a stable order.
    pub changes: Vec<Change>,
    /// Questions left open (the diff is then incomplete), with the direction
    /// asked: their spans point into the new policy for `Widened`, into the old
    /// one for `Narrowed` (as do [`Change::rule`]'s).
    pub unknown: Vec<(Direction, Finding)>,
    /// Counters.
    pub stats: Stats,
}

impl DiffReport {
    /// Any question left open?
    pub fn has_unknown(&self) -> bool {
        self.unknown
            .iter()
            .any(|(_, f)| f.kind == FindingKind::Unknown)
    }

    /// Any internal error (solver and evaluator disagree)?
    pub fn has_internal(&self) -> bool {
        self.unknown
            .iter()
            .any(|(_, f)| f.kind == FindingKind::Internal)
    }

    /// Any widening?
    pub fn widened(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.direction == Direction::Widened)
    }
}
