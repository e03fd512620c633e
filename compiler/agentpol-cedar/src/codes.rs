//! Diagnostic codes of the Cedar backend (`AP06xx`).

agentpol_core::diagnostic_codes! {
    list CEDAR_CODES;
    CEDAR_INVALID_OUTPUT = "AP0601", "cedar-invalid-output",
        "the emitted Cedar files do not pass Cedar's strict validator (internal error)",
        "After emitting `schema.cedarschema`, `policies.cedar` and `entities.json`, the Cedar \
backend parses them with the `cedar-policy` crate and validates the policies against the \
schema in strict mode, and the entities against the schema. This diagnostic means that check \
failed: the backend produced Cedar that Cedar itself rejects.\n\n\
Why it is an error: a policy set that does not validate may fail at decision time, and Cedar \
skips a policy whose evaluation fails. A skipped `forbid` would allow what the source denies, \
so the build stops instead (fail closed).\n\n\
How to fix it: this is a bug in agentpol, not in your policy. Report it with the policy and the \
notes printed below the error (Cedar's own messages). As a stop-gap, build the other targets \
without `--target cedar`.\n\n\
Example of what the check catches: a policy reading `context.args.amount` for a tool whose \
context type has no `amount` attribute.";
    CEDAR_ILL_FORMED_IR = "AP0602", "cedar-ill-formed-ir",
        "a rule breaks the IR's invariants, so the Cedar backend cannot translate it (internal error)",
        "The checker guarantees that every rule is well-typed: a tool rule's condition reads only \
arguments the tool declares, compares values of matching types, and uses params of the right \
type; `ask` appears only on tool rules. The Cedar backend found a rule that breaks one of these \
invariants.\n\n\
Why it is an error: the backend cannot give such a rule a meaning, and dropping it could allow \
what the source denies, so the build stops (fail closed).\n\n\
How to fix it: this is a compiler bug (or a hand-edited IR). Report it together with the policy \
and the output of `agentpolc build --emit ir`.\n\n\
Example: an IR rule `tool send_email` whose condition reads `amount`, while \
`tool send_email(to: string, body: string)` has no such argument.";
    CEDAR_APPROXIMATED = "AP0603", "cedar-approximated",
        "a rule cannot be expressed exactly in Cedar and was approximated soundly",
        "Cedar has no counterpart for some glob shapes: `?` (exactly one character), negated \
character classes such as `[!a-z]`, classes with more than 64 characters, several `**` around \
wildcard segments (`/a/**/x*/**/b`), and wildcard segments deeper than 16 segments from either \
end. A rule using one of them is emitted in a form that never allows more than the source:\n\n\
  * an `allow` (or the approved half of an `ask`) matches fewer requests (it is narrowed), so \
the Cedar engine may deny what the source allows;\n\
  * a `deny` (or the unapproved half of an `ask`) matches more requests (it is widened), so the \
Cedar engine may deny or ask about what the source allows.\n\n\
The rule and what was emitted instead are recorded in the loss report (`manifest.json`, and \
`agentpol-cedar.json` next to the Cedar files). `agentpolc authorize --engine index` or \
`--engine eval` decide such requests exactly.\n\n\
How to avoid it: rewrite the glob with `*` and small classes, e.g. `/var/log/*.[0-9]` instead of \
`/var/log/*.?`, or split `/a/**/x*/**/b` into rules with a single `**` each.\n\n\
Example: `allow read \"/data/report-?.csv\"` becomes a Cedar permit that matches nothing \
(allow narrowed); `deny read \"/data/report-?.csv\"` becomes a forbid on `report-*.csv`.";
    CEDAR_BAD_ARTIFACTS = "AP0604", "cedar-bad-artifacts",
        "the Cedar files given to a decision engine are missing, unreadable or inconsistent",
        "A Cedar decision engine is built from the files `agentpolc build --target cedar` writes: \
`schema.cedarschema`, `policies.cedar`, `entities.json` and `agentpol-cedar.json`. One of them \
is missing, does not parse, was written by another encoding version, or does not match the \
others (a policy without an `@id`, an `@id` that names no rule).\n\n\
Why it is an error: deciding with a partial or edited policy set could allow what the source \
denies, so no engine is built and every request is refused (fail closed).\n\n\
How to fix it: rebuild the directory with `agentpolc build --target cedar -o DIR` from the \
policy source, and do not edit the generated files; change the `.agentpol` source instead.\n\n\
Example: `agentpolc authorize --policy out/ --request r.json` where `out/cedar/policies.cedar` \
was edited by hand and lost a policy's `@id(...)` annotation.";
    CEDAR_EVAL_FAILED = "AP0605", "cedar-evaluation-failed",
        "Cedar could not evaluate a request against the emitted policies (internal error)",
        "The Cedar engine turns a validated agentpol request into Cedar requests (principal, \
action, resource entity, context) and asks Cedar's authorizer. This diagnostic means that step \
failed: Cedar rejected the context or the entities against the schema, or a policy raised an \
evaluation error.\n\n\
Why it is an error: Cedar skips a policy whose evaluation fails, and a skipped `forbid` would \
allow what the source denies. So the request is not decided by Cedar, and the decision is \
deny (fail closed).\n\n\
How to fix it: this is a bug in agentpol's Cedar encoding, not in your request or policy. \
Decide with `agentpolc authorize --engine index` (or `--engine eval`) meanwhile, and report \
the request together with the policy.\n\n\
Example: a request whose `url` argument makes the engine build a context attribute the \
schema does not declare.";
}
