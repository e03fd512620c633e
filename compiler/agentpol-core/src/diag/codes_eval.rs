//! Codes of requests and decisions (`AP08xx`).
//!
//! `AP0801`–`AP0849`: a request the evaluator cannot interpret (the decision
//! is deny, fail closed). `AP0850`–`AP0889`: `test` blocks. `AP0890`–`AP0899`:
//! a policy that breaks the IR's invariants (a compiler bug, also deny).

crate::diagnostic_codes! {
    list EVAL_CODES;
    BAD_REQUEST = "AP0801", "malformed-request",
        "a request that is not valid JSON or lacks a required field",
        "The request could not be read: it is not valid JSON, lacks a required field \
(`agent`, `kind`, and the fields of its kind), has a field of the wrong JSON type, or has a \
field the request format does not know.\n\n\
Unknown fields are refused rather than ignored: a misspelt `skill` would otherwise be \
decided with the agent's wider rights.\n\n\
The decision is deny (fail closed).\n\n\
Fields by kind (besides `agent` and the optional `skill`):\n\
  fs:   action, path\n\
  exec: path, args\n\
  net:  action, proto, addr, domain, port\n\
  tool: tool, args, params, tainted, secrets\n\
  env:  var\n\n\
Example:\n\
  {\"agent\": \"openclaw\", \"kind\": \"fs\", \"action\": \"read\", \"path\": \"/home/agent/notes.txt\"}";
    REQUEST_UNKNOWN_AGENT = "AP0802", "request-unknown-agent",
        "a request names an agent the policy does not declare",
        "The request's `agent` is not an agent of the policy. The evaluator cannot know \
which rules apply, so the decision is deny (fail closed).\n\n\
Fix the name (the help line suggests the closest declared agent), or declare the agent:\n\n\
  agent openclaw { home \"/home/agent\" }";
    REQUEST_UNKNOWN_SKILL = "AP0803", "request-unknown-skill",
        "a request names a skill its agent does not have",
        "The request's `skill` is not a skill of the request's agent. Skills are declared \
inside their agent, so `pdf_summary` of one agent is unrelated to a skill of the same name \
elsewhere. The decision is deny (fail closed).\n\n\
Fix the name, drop `skill` to decide for the agent itself, or declare the skill:\n\n\
  agent openclaw { skill pdf_summary { fs { allow read \"~/docs/**\" } } }";
    REQUEST_UNKNOWN_TOOL = "AP0804", "request-unknown-tool",
        "a tool request names a tool the policy does not declare",
        "The request's `tool` is not declared in the policy, so its arguments cannot be \
type-checked. The decision is deny (fail closed), even if no rule mentions the tool.\n\n\
Fix the name, or declare the tool with its signature:\n\n\
  tool send_email(to: string, body: string)";
    REQUEST_MISSING_ARGUMENT = "AP0805", "request-missing-argument",
        "a tool request lacks a declared argument",
        "A tool request must give every argument the tool declares: a rule's condition may \
read any of them, and guessing a missing value could turn a deny into an allow. The decision \
is deny (fail closed).\n\n\
Example: for `tool send_email(to: string, body: string)` the request needs\n\n\
  \"args\": {\"to\": \"a@example.com\", \"body\": \"hi\"}";
    REQUEST_UNKNOWN_ARGUMENT = "AP0806", "request-unknown-argument",
        "a tool request gives (or marks tainted) an argument the tool does not declare",
        "A tool request may give only the arguments the tool declares, and `tainted` may name \
only those. An unknown name is usually a misspelling; ignoring it could leave the value the \
caller meant unchecked. The decision is deny (fail closed).\n\n\
Fix the name (the help line suggests the closest declared argument), or add the argument to \
the tool's signature.";
    REQUEST_ILL_TYPED_ARGUMENT = "AP0807", "request-ill-typed-argument",
        "a tool argument's value does not have the declared type",
        "Each argument must be a JSON value of its declared type:\n\n\
  string  a JSON string\n\
  int     a JSON integer in the 64-bit signed range (not 1.0, not \"1\")\n\
  bool    true or false\n\
  url     a JSON string holding an absolute URL (WHATWG rules, e.g. \"https://a.example/x\")\n\
  path    a JSON string holding an absolute, normalised path\n\n\
The decision is deny (fail closed).";
    REQUEST_UNBOUND_PARAM = "AP0808", "request-unbound-param",
        "a rule of the requested tool reads a param the request does not bind",
        "A `param` is a value the caller supplies at decision time, in the request's `params`. \
A rule of the requested tool reads this param, and without its value the rule's condition \
cannot be decided; treating it as false could turn a deny into an allow. The decision is deny \
(fail closed).\n\n\
Example: for `param contacts: set<string>` the request needs\n\n\
  \"params\": {\"contacts\": [\"a@example.com\"]}";
    REQUEST_ILL_TYPED_PARAM = "AP0809", "request-ill-typed-param",
        "a param's bound value does not have the declared type",
        "A param binding must be a JSON value of the param's declared type: a string, an \
integer (64-bit signed), a boolean, an array of strings (`set<string>`) or an array of \
integers (`set<int>`). The decision is deny (fail closed).\n\n\
Example: for `param limit: int`, bind `\"params\": {\"limit\": 100}`, not `\"100\"`.";
    REQUEST_UNKNOWN_PARAM = "AP0810", "request-unknown-param",
        "a request binds a param the policy does not declare",
        "The request's `params` names a param the policy does not declare. This is usually a \
misspelling, which would leave the intended param unbound. The decision is deny (fail \
closed).\n\n\
Params of imported modules have qualified names, e.g. `std::openclaw::contacts`; params of \
the root file have plain names.";
    REQUEST_BAD_PATH = "AP0811", "request-bad-path",
        "a request path is relative or not normalised",
        "Paths are matched as absolute, normalised paths after symlink resolution, which is \
what the kernel reports. A request path (an `fs` or `exec` path, or a `path` argument) must \
start with `/` and contain no empty (`//`), `.` or `..` segment; one trailing `/` is ignored. \
Resolving such a path would need the file system, so the decision is deny (fail closed).\n\n\
Example: use \"/home/agent/work/a.txt\", not \"work/a.txt\" or \"/home/agent/../agent/a.txt\".";
    REQUEST_BAD_PROTOCOL = "AP0812", "request-bad-protocol",
        "a net request's protocol is not tcp or udp",
        "A socket is either TCP or UDP; `any` is a pattern for rules, not a concrete protocol. \
The decision is deny (fail closed).\n\n\
Example: {\"agent\": \"a\", \"kind\": \"net\", \"action\": \"connect\", \"proto\": \"tcp\", \
\"addr\": \"192.0.2.1\", \"port\": 443}";
    REQUEST_WRONG_ACTION = "AP0813", "request-wrong-action",
        "a request's action belongs to another kind",
        "Each action belongs to one kind: fs takes read, write, create, delete, rename, link or \
mkdir; net takes connect, listen or sendto. (exec, tool and env requests have no `action` \
field.) A request mixing them cannot match any rule meaningfully, so it is refused and the \
decision is deny (fail closed).";
    REQUEST_BAD_DOMAIN = "AP0814", "request-bad-domain",
        "a net request's domain is not a usable DNS name",
        "The `domain` of a net request must be a non-empty ASCII DNS name without empty \
labels (one trailing `.` is allowed and removed). Internationalised names must be given in \
punycode (`xn--...`): domain rules are ASCII, and guessing a Unicode mapping could let a \
look-alike name slip past a deny. The decision is deny (fail closed).";
    REQUEST_AMBIGUOUS_HOST = "AP0815", "request-ambiguous-host",
        "a URL or domain that common parsers read as different hosts",
        "A tool argument comes from the model, that is from whoever wrote the text it read. \
A URL whose host one parser reads differently from another is refused rather than parsed \
charitably: `https://docs.rs\\@pastebin.com/raw` is host `docs.rs` to a WHATWG parser but \
`pastebin.com` to curl and Python's urllib, so a rule about `docs.rs` would let the tool \
fetch from `pastebin.com`.\n\n\
Refused in a `url` argument: backslashes, userinfo (`user@`), control, space or non-ASCII \
characters, percent-encoded bytes in the authority, a host ending in a number that is not \
a plain dotted-decimal IPv4 address (`0x7f.1`, `127.1`, `017.0.0.1`), a trailing dot, and \
an empty host. Refused in a net request's `domain`: a name ending in a number that is not \
an IP address, and an IP literal that disagrees with `addr`. An IP literal in `domain` is \
read as the address (and matches CIDR rules).\n\n\
The decision is deny (fail closed). Give the URL in its plain form: \
`https://pastebin.com/raw`, `https://127.0.0.1/`.";
    REQUEST_TOO_LARGE = "AP0816", "request-too-large",
        "a request exceeds a size limit",
        "Requests are bounded so that deciding one takes bounded time and memory \
(lang-spec/requests.md, \"Limits\"): at most 1 MiB of JSON, 4096 elements in an array, \
4096 keys in an object, 256 KiB in a string, and a nesting depth of 32. A larger request \
is not read further; the decision is deny (fail closed).\n\n\
If a legitimate request needs more (a huge tool argument), the tool should pass a \
reference to the data (a path) rather than the data itself.";
    TEST_EXPECTATION_FAILED = "AP0850", "test-expectation-failed",
        "a `test` expectation got a different decision",
        "`agentpolc test` ran the request of an `expect` line through the reference evaluator \
and the decision differs from the expected effect (or the request could not be decided at \
all). The labels point at the rules that decided.\n\n\
Either the policy is wrong (fix the rules: remember deny > ask > allow regardless of order, \
and a skill never gets more than its agent), or the expectation is (fix the `expect` line).\n\n\
Example:\n\n\
  agent a { fs { allow read \"/srv/**\"  deny read \"/srv/secret/**\" } }\n\
  test \"t\" { expect allow a fs read \"/srv/secret/k\" }   # fails: the deny wins";
    ILL_FORMED_IR = "AP0890", "ill-formed-ir",
        "the policy breaks an invariant of the checked IR",
        "The evaluator met IR the checker should never produce: an operand of the wrong type, \
an argument the tool does not declare, an undeclared param, or a matcher that disagrees \
with its rule's action. This is a compiler bug (or a hand-edited IR file). The decision is \
deny (fail closed).\n\n\
Please report it with the policy source and `agentpolc build --emit ir` output.";
}
