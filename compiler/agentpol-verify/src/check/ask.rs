//! The one way a question reaches the solver and its answer becomes a
//! finding: undecided answers are reported as unknown (AP0510), and every
//! witness is replayed in the reference evaluator before it is claimed; a
//! replay that disagrees is an internal-error finding (or an unknown where
//! the encoding over-approximates the request space).

use super::Ctx;
use crate::encode::{Encoder, Outcome, Values};
use crate::formula::Part;
use crate::report::{Finding, FindingKind, RuleRef};
use agentpol_core::ir::SourceRef;
use agentpol_core::request::Request;
use z3::ast::Bool;

/// What a question is about: where its unknown and internal findings point
/// and how they read.
pub(crate) struct Question<'q> {
    pub(crate) owner: &'q str,
    pub(crate) part: &'q Part,
    pub(crate) src: SourceRef,
    pub(crate) rule: Option<RuleRef>,
    /// Completes "could not decide …".
    pub(crate) undecided: String,
    /// Completes "the solver and the reference evaluator disagree about …".
    pub(crate) subject: String,
    /// The encoding over-approximates here: a disagreeing replay is then an
    /// unknown, not an internal error.
    pub(crate) approx: bool,
}

impl<'q> Question<'q> {
    /// A question about rule `r`: whether it `what` (e.g. "is overridden").
    pub(crate) fn rule(
        owner: &'q str,
        part: &'q Part,
        r: &super::RInfo<'_>,
        what: &str,
        approx: bool,
    ) -> Self {
        Question {
            owner,
            part,
            src: r.rule.src,
            rule: Some(r.rref()),
            undecided: format!("whether rule {} {what}", r.rule.id),
            subject: format!("rule {}", r.rule.id),
            approx,
        }
    }

    /// The reason of a disagreeing replay: the solver claimed `claim`, the
    /// evaluator answered `got`.
    pub(crate) fn refuted(claim: &str, got: impl std::fmt::Display) -> String {
        format!("the solver found a request where {claim}; the reference evaluator says {got}")
    }
}

/// The solver's answer once undecided answers have been reported.
pub(crate) enum Answer {
    /// A request exists; the model gives it.
    Sat(Values),
    /// No request exists, and the answer can be trusted.
    Unsat,
    /// Undecided (already reported as unknown, unless the caller accepts an
    /// inconclusive "no").
    Undecided,
}

/// How an inconclusive "no" (an exploration hit its limit, or a rule the
/// solver does not see) is treated.
#[derive(Clone, Copy)]
pub(crate) enum Inconclusive<'a> {
    /// Reported as unknown with this reason.
    Report(&'a str),
    /// Acceptable: a "no" of any kind only means nothing to report.
    Accept,
}

/// The reason of an unknown when an exploration hit its state limit.
pub(crate) const STATE_LIMIT: &str = "an exploration hit its state limit";
/// … or when a neighbour rule could not be encoded either.
pub(crate) const LIMIT_OR_NEIGHBOUR: &str =
    "an exploration hit its state limit, or a neighbour uses an unmodelled construct";

impl Ctx<'_> {
    /// Asks whether some request satisfies `asm`. A "no" counts only when
    /// conclusive and `exact` (every rule involved is encoded); otherwise it
    /// is treated as `inconclusive` says. Solver unknowns are reported.
    pub(crate) fn ask(
        &mut self,
        enc: &mut Encoder<'_>,
        asm: &[Bool],
        q: &Question<'_>,
        exact: bool,
        inconclusive: Inconclusive<'_>,
        out: &mut Vec<Finding>,
    ) -> Answer {
        match self.check(enc, asm) {
            Outcome::Sat(v) => Answer::Sat(v),
            Outcome::Unsat { conclusive: true } if exact => Answer::Unsat,
            Outcome::Unsat { .. } => {
                if let Inconclusive::Report(why) = inconclusive {
                    out.push(self.unknown(q, why.to_string()));
                }
                Answer::Undecided
            }
            Outcome::Unknown(why) => {
                out.push(self.unknown(q, why));
                Answer::Undecided
            }
        }
    }

    /// Replays witness `req` with `judge`, which returns the confirmed
    /// finding or why the evaluator disagrees (see [`Question::refuted`]).
    pub(crate) fn confirm(
        &mut self,
        q: &Question<'_>,
        req: Request,
        judge: impl FnOnce(&mut Self, &Request) -> Result<Finding, String>,
    ) -> Finding {
        match judge(self, &req) {
            Ok(f) => f,
            Err(reason) => self.disagreement(q, reason, req),
        }
    }

    /// A finding about `q` of `kind` (no witness yet).
    pub(crate) fn about(&self, q: &Question<'_>, kind: FindingKind, message: String) -> Finding {
        self.finding(kind, q.owner, q.part, q.src, q.rule.clone(), message)
    }

    /// An undecided question.
    pub(crate) fn unknown(&self, q: &Question<'_>, why: String) -> Finding {
        let mut f = self.about(
            q,
            FindingKind::Unknown,
            format!("could not decide {}", q.undecided),
        );
        f.reason = Some(why);
        f
    }

    /// A replay disagreed: an internal error, or an unknown when the encoding
    /// over-approximates the request space there.
    fn disagreement(&self, q: &Question<'_>, reason: String, req: Request) -> Finding {
        let (kind, message) = if q.approx {
            (
                FindingKind::Unknown,
                format!("could not decide {}", q.undecided),
            )
        } else {
            (
                FindingKind::Internal,
                format!(
                    "internal error: the solver and the reference evaluator disagree about {}",
                    q.subject
                ),
            )
        };
        let mut f = self.about(q, kind, message);
        f.reason = Some(reason);
        f.witness = Some(req);
        f
    }
}
