//! Diagnostic codes of the verifier and the semantic diff (`AP05xx`).

agentpol_core::diagnostic_codes! {
    list VERIFY_CODES;
    OVERRIDDEN_RULE = "AP0501", "overridden-rule",
        "an allow or ask rule that higher-precedence rules always override",
        "Every request this rule matches is also matched by a rule of higher precedence \
(deny > ask > allow) of the same agent or skill, so the rule never decides anything. \
The covering rules may be one rule or several together; the diagnostic names a \
smallest set of them it found, and shows a request the rule matches with the \
decision it really gets.\n\n\
This is usually a mistake: either the rule is dead code, or the higher rule is \
broader than intended. Precedence does not depend on the order rules are written \
in, so moving the rule does not help.\n\n\
Example:\n\n    fs {\n      deny read \"~/work/**\"\n      allow read \"~/work/docs/**\"   # AP0501: always denied\n    }\n\n\
Fix: delete the rule, or narrow the covering rule (here, deny `~/work/secret/**` \
instead of all of `~/work`).";
    REDUNDANT_RULE = "AP0502", "redundant-rule",
        "a rule whose requests another rule with the same effect already matches",
        "Every request this rule matches is also matched by another rule of the same \
owner with the same effect, so removing it changes no decision. When two rules \
match exactly the same requests, the later one is reported.\n\n\
Example:\n\n    fs {\n      allow read \"/srv/**\"\n      allow read \"/srv/www/*\"   # AP0502: inside /srv/**\n    }\n\n\
Fix: delete the narrower rule, or check whether the broader rule grants more than \
intended.";
    VACUOUS_RULE = "AP0503", "vacuous-rule",
        "a rule that matches no request at all",
        "No request can match this rule: its glob admits no normalised path, its \
conditions contradict each other (for example `amount > 10 and amount < 5`), a \
condition cannot hold for the argument's or param's type, or its set of targets is \
empty. The rule has no effect.\n\n\
Example:\n\n    tool pay(amount: int) { allow when amount > 100 and amount < 10 }   # AP0503\n\n\
Fix: correct the condition or delete the rule.";
    PARTIAL_OVERLAP = "AP0504", "partial-overlap",
        "an allow or ask rule partly overlaps a higher-precedence rule (an exception)",
        "Some, but not all, requests this rule matches are also matched by a rule of \
higher precedence, which wins for them. This is the normal way to carve an \
exception out of a grant, so it is reported only at `--level info`, with a request \
in the overlap, so that reviewers can see every exception.\n\n\
Example:\n\n    fs {\n      allow read \"~/work/**\"\n      deny read \"~/work/.env\"     # AP0504 (info) on the allow\n    }\n\n\
Nothing needs fixing unless the exception is unintended.";
    SKILL_ESCALATION = "AP0505", "skill-escalation",
        "a skill rule grants a request that its agent does not",
        "A skill's decision is combined with its agent's: a request is allowed only \
when both allow it (semantics.md section 1). This skill rule grants a request (the \
diagnostic shows one) that no rule of the agent grants at the same level (no agent \
allow rule for an allow, no agent allow or ask rule for an ask), so the grant silently \
does nothing for that request: a skill can only narrow its agent. Requests that the \
agent grants but then refuses by one of its own deny rules (its exceptions, such as \
the standard secrets baseline) are not escalations.\n\n\
Example:\n\n    agent a {\n      fs { allow read \"~/work/**\" }\n      skill s { fs { allow read \"/etc/**\" } }   # AP0505: the agent denies /etc\n    }\n\n\
Fix: grant the request in the agent too (if the agent should have it), or narrow \
the skill's rule to what the agent allows.";
    TOOL_NET_MISMATCH = "AP0506", "tool-net-mismatch",
        "a tool rule allows a URL that the net rules make unreachable",
        "The tool rule grants (allows or asks about) calls whose URL argument points \
at a host that the same agent's or skill's net rules never let it connect to: for \
a host the rule names (or, if it names none, for everything it grants), every such \
URL is refused at the net layer, for every address the host could resolve to. The \
call is allowed at the tool layer but can never connect. The diagnostic shows the \
tool call and the refused connection. A rule that names no port is checked on its \
scheme's default port, one that names no scheme on `https`.\n\n\
This is checked only for agents and skills that have net rules; one without any \
is taken to be enforced at the tool layer only.\n\n\
Example:\n\n    tool fetch(url: url) { allow when url.host in { \"api.example.com\" } }\n    net { allow connect tcp \"other.example\" port 443 }   # AP0506 on the tool rule\n\n\
Fix: allow the connection in `net`, or narrow the tool rule.";
    EXEC_FS_MISMATCH = "AP0507", "exec-fs-mismatch",
        "an exec rule allows a binary that the fs rules forbid reading",
        "The exec rule allows running a binary whose path a deny rule of the same \
agent's or skill's fs rules forbids reading. One layer grants what the other \
explicitly refuses: either the execution is not meant to be allowed, or the read \
denial is broader than intended. Only explicit deny rules count: not granting read \
access to binaries (default deny) is normal, and execution does not need it.\n\n\
Example:\n\n    fs { allow read \"/home/**\"  deny read \"/usr/**\" }\n    exec { allow \"/usr/bin/git\" }   # AP0507\n\n\
Fix: allow reading the binary, or drop the exec rule.";
    ASSERTION_VIOLATED = "AP0508", "assertion-violated",
        "an `assert never` does not hold",
        "The verifier found a request that the assertion forbids (its pattern \
matches it and its decision is one of the forbidden effects). The diagnostic shows \
the request and the rules that decide it.\n\n\
Example:\n\n    fs { allow read \"~/**\" }\n    assert never a fs read \"~/.ssh/**\"   # AP0508: ~/.ssh/x is allowed\n\n\
Fix: add the deny the assertion expects (`deny read \"~/.ssh/**\"`), or correct the \
assertion.\n\n\
`assert never WHO read \"GLOB\"` (no `fs`) covers every way to read: fs reads, and \
tool calls whose `path` argument, or `file:` URL argument, names a matching file. \
Its counterexample may be such a tool call; the message names the tool and the \
argument, and the fix is then a tool rule:\n\n    \
tool read_file { allow when path in { \"~/**\" } }\n    \
assert never a read \"~/.ssh/**\"   # AP0508: read_file of ~/.ssh is allowed\n\n\
Fix: `deny when path in { \"~/.ssh/**\" }` in the tool.";
    ASSERTION_PROVED = "AP0509", "assertion-proved",
        "an `assert never` holds for every request",
        "The verifier proved that no request matching the assertion's pattern gets a \
forbidden decision, for every path, address, port and argument value (not by \
sampling). Reported at `--level info`.";
    VERIFIER_UNKNOWN = "AP0510", "verifier-unknown",
        "the verifier could not decide a question about these rules",
        "The solver timed out, an exploration hit its state limit, or a rule uses a \
construct the verifier does not model, so a question could not be answered either \
way. The verifier never reports such a case as \"no conflict\": the question stays \
open. `agentpolc verify` exits with status 3 when this happens.\n\n\
Fix: raise the limits (`--timeout`), simplify the rules named, or accept the \
open question explicitly.";
    VERIFIER_INTERNAL = "AP0511", "verifier-internal-error",
        "the solver and the reference evaluator disagree",
        "Every request the verifier shows is replayed in the reference evaluator \
before it is reported. Here the two disagreed, so the finding was withheld: this is \
a bug in the verifier (or the evaluator). Please report it with the policy and the \
request in the note.";
    DIFF_WIDENED = "AP0512", "policy-widened",
        "the new policy grants a request the old one did not",
        "Semantic diff: the new policy decides this request (shown) less strictly \
than the old one did (deny became ask or allow, or ask became allow). The rule \
named is the new rule that grants it. `agentpolc diff --fail-on-widen` fails on \
these, so a policy pull request that grants more must say so.\n\n\
Example: removing `deny read \"/srv/secret/**\"` while keeping \
`allow read \"/srv/**\"` widens the policy; the diff shows `/srv/secret` as newly \
allowed, at the allow rule.";
    DIFF_NARROWED = "AP0513", "policy-narrowed",
        "the new policy refuses a request the old one granted",
        "Semantic diff: the new policy decides this request (shown) more strictly \
than the old one did (allow became ask or deny, or ask became deny). The rule named \
is the old rule that granted it. Narrowing is reported at info level: it cannot \
grant an agent anything new, but it may break a workflow that relied on the grant.\n\n\
Example: adding `deny read \"/srv/secret/**\"` next to `allow read \"/srv/**\"` \
narrows the policy; the diff shows `/srv/secret` as a request that is no longer \
allowed.";
    TOOL_FS_MISMATCH = "AP0514", "tool-fs-mismatch",
        "a tool rule allows a path argument that the fs rules forbid reading",
        "The tool rule allows a call whose `path`-typed argument names a file that a \
deny rule of the same agent's or skill's fs rules forbids reading. The tool's \
server reads the file with its own rights, so the call hands the agent what the fs \
layer refuses: the tool is a way around the deny. Only explicit deny rules count, \
as for AP0507. The diagnostic shows the tool call and the refused read. `assert \
never … fs read` assertions are about fs requests only; `assert never … read` \
(no `fs`) covers the tools too, and this finding reports the route even without \
an assertion.\n\n\
Example:\n\n    fs { deny read \"~/.ssh/**\" }\n    tool read_file { allow when path in { \"~/**\" } }   # AP0514\n\n\
Fix: narrow the tool rule to paths the fs rules allow, or add a tool deny for the \
refused paths (`deny when path in { \"~/.ssh/**\" }`).";
}
