//! Hand-built IR for tests, property tests and the benchmark generator.
//!
//! The checker is the only producer of IR in the compiler; these helpers exist
//! so that the verifier can be tested (and benchmarked) on policies that the
//! front end cannot produce yet, or on thousands of generated rules. They
//! accept only well-formed input and say what is wrong otherwise.

use agentpol_core::ir::{
    Action, Agent, ArgSig, ArgType, Effect, FileInfo, Matcher, Origin, ParamSig, ParamType, Policy,
    Rule, RuleId, Scope, Skill, SourceRef, ToolSig, IR_VERSION,
};
use agentpol_core::span::{FileId, Span};

/// Globs and `like` patterns from their text, parsed by the checker's own
/// parsers (the same helpers as [`crate::policy_gen`]'s).
pub use crate::policy_gen::{glob, like};

/// A source position on line `line` of file 0 (spans are 10 bytes per line).
pub fn src(line: u32) -> SourceRef {
    SourceRef {
        span: Span {
            file: FileId(0),
            start: line.saturating_sub(1) * 10,
            end: line.saturating_sub(1) * 10 + 9,
        },
        line,
        col: 1,
    }
}

/// A rule with id `id`, written on `line`.
pub fn rule(id: &str, effect: Effect, action: Action, matcher: Matcher, line: u32) -> Rule {
    Rule {
        id: RuleId(id.to_string()),
        effect,
        action,
        matcher,
        src: src(line),
        origin: Origin::default(),
    }
}

/// An fs matcher over globs.
pub fn fs(globs: &[&str]) -> Matcher {
    Matcher::Fs {
        globs: globs.iter().map(|g| glob(g)).collect(),
    }
}

/// An agent with rules and skills.
pub fn agent(name: &str, rules: Vec<Rule>, skills: Vec<Skill>) -> Agent {
    Agent {
        name: name.to_string(),
        home: None,
        scope: Scope::Cgroup {
            path: format!("agentpol/{name}"),
        },
        resolvers: Vec::new(),
        selector: None,
        rules,
        skills,
        src: src(1),
    }
}

/// A skill.
pub fn skill(name: &str, rules: Vec<Rule>) -> Skill {
    Skill {
        name: name.to_string(),
        rules,
        src: src(1),
    }
}

/// A tool signature.
pub fn tool(name: &str, args: &[(&str, ArgType)]) -> ToolSig {
    ToolSig {
        name: name.to_string(),
        args: args
            .iter()
            .map(|(n, t)| ArgSig {
                name: n.to_string(),
                ty: *t,
                secret: false,
            })
            .collect(),
        labels: Vec::new(),
        src: src(1),
    }
}

/// A param declaration.
pub fn param(name: &str, ty: ParamType) -> ParamSig {
    ParamSig {
        name: name.to_string(),
        ty,
        src: src(1),
    }
}

/// A policy of one file named `policy.agentpol`.
pub fn policy(agents: Vec<Agent>, tools: Vec<ToolSig>, params: Vec<ParamSig>) -> Policy {
    Policy {
        ir_version: IR_VERSION,
        files: vec![FileInfo {
            name: "policy.agentpol".into(),
            sha256: String::new(),
        }],
        agents,
        tools,
        params,
        secrets: Vec::new(),
        assertions: Vec::new(),
        tests: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpol_core::ir::{Piece, Segment};

    #[test]
    fn parses_glob_shapes() {
        let g = glob("/home/*/.ssh/id_[!x-z]?*");
        assert_eq!(g.segments.len(), 4);
        assert_eq!(g.segments.first(), Some(&Segment::Lit("home".into())));
        assert!(matches!(g.segments.get(1), Some(Segment::Wild(_))));
        match g.segments.get(3) {
            Some(Segment::Wild(p)) => {
                assert_eq!(p.len(), 4);
                assert_eq!(
                    p.get(1),
                    Some(&Piece::Class {
                        negated: true,
                        ranges: vec![('x', 'z')]
                    })
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(glob("/").segments, vec![]);
        assert_eq!(glob("/a/**").segments.get(1), Some(&Segment::Any));
    }
}
