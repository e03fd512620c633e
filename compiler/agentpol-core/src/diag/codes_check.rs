//! Codes of name resolution, type checking and lowering (`AP01xx`–`AP04xx`).

crate::diagnostic_codes! {
    list CHECK_CODES;

    // ---- AP01xx: names and modules ----

    UNDEFINED_NAME = "AP0101", "undefined-name",
        "a name that is not defined",
        "A name was used that no `const`, `set`, `param`, `secret`, `profile` or import defines.\n\n\
Names are looked up in the file that uses them; a name from an imported module is written\n\
`alias::name` (the alias of `import std::secrets` is `secrets`). Imports are not re-exported:\n\
a module sees only what it imports itself. The help line suggests the closest defined name.\n\n\
Example:\n\n    import std::secrets\n    agent a { fs { deny all secrets::ssh_key } }    # error: no `ssh_key`\n\n\
Fix the spelling (`secrets::ssh_keys`), or define or import the name.";

    DUPLICATE_DEFINITION = "AP0102", "duplicate-definition",
        "a name defined twice in the same scope",
        "Two items of one file (consts, sets, params, secrets, profiles, agents), two skills of one\n\
agent, or two imports share a name. Names must be unique in their scope so that every use\n\
means exactly one thing.\n\nExample:\n\n    const WORK = \"/srv/work\"\n    set WORK = { \"/tmp\" }      # error: `WORK` is already a const\n\n\
Rename one of them.";

    WRONG_KIND = "AP0103", "wrong-kind-of-name",
        "a name of the wrong kind for where it is used",
        "The name is defined, but as something that cannot be used here: a set where a single\n\
value (const) is needed, a profile used as a set of targets, a secret in a `net` rule, and\n\
so on. Each position accepts only certain kinds of names:\n\n\
  * string interpolation `${X}` and comparisons `a == X`: a const;\n\
  * targets and `in` sets: a const, a set (or, for `fs` and `exec`, a secret's files);\n\
  * `include X`: a profile;\n  * `secrets { deny read X }`: a secret.\n\n\
Example:\n\n    set hosts = { \"a.example\" }\n    tool t(to: string) { allow when to == hosts }   # error: a set, not a const\n\n\
Use the right kind of name, or the matching operator (`to in hosts`).";

    CYCLIC_DEFINITION = "AP0104", "cyclic-definition",
        "a const or set defined in terms of itself",
        "A const refers (directly or through other consts or interpolations) to itself, or a set\n\
splices itself. Such a definition has no value.\n\nExample:\n\n    const A = \"${B}/x\"\n    const B = \"${A}/y\"    # error: A -> B -> A\n\n\
Break the cycle by writing one of the values out.";

    PARAM_WITHOUT_KEYWORD = "AP0105", "param-without-keyword",
        "a param used as a plain name",
        "Params are bound by the caller at decision time, so a rule that reads one says so with the\n\
`param` keyword. Without it the name would look like a constant.\n\nExample:\n\n    param contacts: set<string>\n    tool send(to: string) { allow when to in contacts }   # error\n\n\
Write `to in param contacts`. Params cannot be used where a compile-time value is needed\n\
(rule targets, string interpolation).";

    NOT_A_PARAM = "AP0106", "not-a-param",
        "`param NAME` where NAME is not a param",
        "`param NAME` refers to a value bound at decision time, declared with `param NAME: TYPE`.\n\
The name given is a const, set or something else.\n\nExample:\n\n    const OWNER = \"me@example.com\"\n    tool send(to: string) { allow when to == param OWNER }   # error\n\n\
Drop `param` to use the const, or declare a param.";

    INCLUDE_CYCLE = "AP0107", "include-cycle",
        "profiles that include each other",
        "A profile includes itself, directly or through other profiles. Including a profile adds\n\
its rules in place, so a cycle would never end.\n\nExample:\n\n    profile a { include b }\n    profile b { include a }    # error\n\n\
Move the shared rules into a third profile that both include.";

    IMPORT_CYCLE = "AP0108", "import-cycle",
        "modules that import each other",
        "A module imports itself, directly or through other modules. Modules must form a tree (or\n\
a DAG) so that each can be understood on its own.\n\nExample (in a.agentpol):\n\n    import \"b.agentpol\" as b     # and b.agentpol imports a.agentpol\n\n\
Move what both need into a third module.";

    UNKNOWN_MODULE = "AP0109", "unknown-module",
        "an import that names no module",
        "`import std::NAME` names a standard-library module that does not exist, a module import\n\
does not start with `std`, or a file import could not be loaded.\n\n\
Standard modules: std::secrets, std::net, std::system, std::openclaw. Other modules are\n\
imported by file, relative to the importing file.\n\n\
Example:\n\n    import std::secret                     # error: the module is `std::secrets`\n    import \"common.agentpol\" as common     # a file next to this one\n\n\
Fix the module name or the file path.";

    UNSUPPORTED_VERSION = "AP0110", "unsupported-version",
        "a language version this compiler does not know",
        "`version N` says which version of the language the file is written in. This compiler\n\
understands version 1 only, so a file written for another version could mean something else.\n\n\
Example:\n\n    version 2      # error\n\n\
Fix: write `version 1` (or leave the line out).";

    UNKNOWN_AGENT = "AP0111", "unknown-agent",
        "an assertion or test that names an unknown agent or skill",
        "`assert never WHO ...` and `expect EFFECT WHO ...` name an agent (`openclaw`) or a skill of\n\
an agent (`openclaw.pdf_summary`) defined in the root file. The name given is neither.\n\n\
Example:\n\n    agent openclaw { }\n    assert never openclow fs read \"/etc/shadow\"    # error: typo\n\n\
Fix the name; the help line suggests the closest one.";

    // ---- AP02xx: types and effects ----

    TYPE_MISMATCH = "AP0201", "type-mismatch",
        "a value of the wrong type",
        "A value does not have the type its position requires: a string compared with an int\n\
argument, an int const used as a path, a set param of the wrong element type, a set mixing\n\
strings and ints, and so on.\n\nExample:\n\n    tool pay(amount: int) { allow when amount <= \"100\" }    # error: a string\n\n\
Write a value of the right type (`amount <= 100`).";

    ASK_OUTSIDE_TOOL = "AP0202", "ask-outside-tool",
        "`ask` on an fs, exec, net or secrets rule",
        "`ask` means \"allowed only with a human's approval\". Only the tool gate can wait for a\n\
person; the kernel (fs, exec) and the firewall (net) must answer at once, so `ask` exists\n\
only in `tool` blocks.\n\nExample:\n\n    fs { ask write \"~/notes/**\" }      # error\n\n\
Use `allow` or `deny` here, or move the decision to a tool: `tool write_file(p: path) { ask }`.";

    UNKNOWN_ARGUMENT = "AP0203", "unknown-tool-argument",
        "a condition or test that names an argument the tool does not declare",
        "A tool condition (or a `tainted(...)` atom, or a test record) names an argument that is not\n\
in the tool's signature. A condition can only read declared arguments.\n\nExample:\n\n    tool send(to: string) { allow when recipient == \"a@b\" }   # error\n\n\
Use a declared argument, or add it to the signature (everywhere it is declared).";

    INVALID_OPERATOR = "AP0204", "invalid-operator",
        "an operator that the operand's type does not support",
        "Each argument type supports certain operators (semantics.md section 6):\n\n\
  * string: `==` `!=` `in` `like`;  int: `==` `!=` `<` `<=` `>` `>=` `in`;  bool: `==` `!=`;\n\
  * url: only through `.scheme`, `.host`, `.port`, `.path`;\n\
  * path: only `in` with path globs (`p in { \"~/work/**\" }`).\n\n\
Example:\n\n    tool open(p: path) { allow when p == \"/tmp/x\" }    # error\n\n\
Write `p in { \"/tmp/x\" }`.";

    CONFLICTING_TOOL_SIGNATURE = "AP0205", "conflicting-tool-signature",
        "a tool declared twice with different signatures",
        "Tool names are global: every declaration of a tool (module-level `tool` items and inline\n\
signatures on `tool NAME(...) { }` blocks) must give the same arguments (names, types, order,\n\
`secret` annotations) and the same labels.\n\nExample:\n\n    tool send(to: string)\n    agent a { tool send(to: string, body: string) { allow } }   # error\n\n\
Make the declarations agree, or declare the tool once and write `tool send { ... }`.";

    UNKNOWN_TOOL = "AP0206", "unknown-tool",
        "a tool without a known signature",
        "A `tool NAME { ... }` block, assertion or test names a tool that no signature declares.\n\
The checker needs the signature to type-check conditions and requests.\n\nExample:\n\n    agent a { tool send_email { allow } }    # error: no signature\n\n\
Declare it, at module level (`tool send_email(to: string, body: string)`) or inline\n\
(`tool send_email(to: string, body: string) { allow }`).";

    CONDITION_TOO_COMPLEX = "AP0207", "condition-too-complex",
        "a condition whose disjunctive normal form is too large",
        "Tool conditions are rewritten to disjunctive normal form (an `or` of `and`s); each disjunct\n\
becomes one IR rule. `(a or b) and (c or d) and ...` multiplies out, so the number of\n\
disjuncts is limited (64) to keep the policy small and verifiable.\n\n\
Example:\n\n    allow when (a == 1 or a == 2) and (b == 1 or b == 2) and ...   # 2^7 = 128 disjuncts\n\n\
Fix: use sets (`a in { 1, 2 }` instead of `a == 1 or a == 2`), or split the rule into several\n\
rules with the same effect.";

    UNKNOWN_LABEL = "AP0208", "unknown-label",
        "a tool output label other than `untrusted`",
        "Tool signatures may carry output labels after `->`. The only label is `untrusted`: the\n\
tool's output is attacker-influenced, and arguments derived from it are `tainted`.\n\n\
Example:\n\n    tool fetch(u: url) -> untrusted";

    DUPLICATE_ARGUMENT = "AP0209", "duplicate-argument",
        "a tool signature that declares an argument twice",
        "Each argument of a tool has one name and one type; a request gives each argument once,\n\
so two declarations of the same name cannot both be meant.\n\n\
Example:\n\n    tool send(to: string, to: string)    # error\n\n\
Rename or remove one.";

    INVALID_TYPE = "AP0210", "invalid-type",
        "a type that is not allowed here",
        "Tool arguments have types `string`, `int`, `bool`, `url` or `path`. Params have types\n\
`string`, `int`, `bool`, `set<string>` or `set<int>`. Other combinations (`set<...>` for an\n\
argument, `url`/`path`/`set<bool>` or nested sets for a param) cannot be bound or compared.\n\n\
Example:\n\n    param site: url                     # error: write `param site: string`\n    tool t(xs: set<string>)             # error: arguments are scalars";

    INVALID_URL_FIELD = "AP0211", "invalid-url-field",
        "a field access that is not `.scheme`, `.host`, `.port` or `.path` of a url argument",
        "`arg.field` reads a part of a `url` argument. The parts are `scheme`, `host`, `port` and\n\
`path`; other arguments have no fields.\n\nExample:\n\n    tool fetch(u: url) { allow when u.domain == \"x\" }    # error\n\nUse `u.host`.";

    URL_NEEDS_FIELD = "AP0212", "url-needs-field",
        "a url argument compared as a whole",
        "A `url` argument is matched only through its parts, so that `https://good.example@evil.example/`\n\
cannot fool a string comparison: `u.scheme`, `u.host`, `u.port`, `u.path`.\n\nExample:\n\n    tool fetch(u: url) { allow when u like \"https://api.github.com/*\" }    # error\n\n\
Write `u.scheme == \"https\" and u.host == \"api.github.com\"`.";


    // ---- AP03xx: literals ----

    CIDR_HOST_BITS = "AP0301", "cidr-host-bits",
        "a CIDR with host bits set",
        "In `10.0.0.1/8` the bits after the prefix are not zero, so it is unclear whether the\n\
network `10.0.0.0/8` or the host `10.0.0.1` was meant. The help line shows the network.\n\n\
Example:\n\n    net { allow connect tcp 10.0.0.1/8 port 443 }    # error\n\n\
Write the network (`10.0.0.0/8`) or the single address (`10.0.0.1`).";

    INVALID_ADDRESS = "AP0302", "invalid-address",
        "an IP address or CIDR that does not parse",
        "IPv4 addresses are written bare (`192.0.2.1`, `10.0.0.0/8`); IPv6 addresses are written as\n\
strings (`\"2001:db8::1\"`, `\"fc00::/7\"`). Octets are 0-255 without leading zeros; prefixes\n\
are at most 32 (IPv4) or 128 (IPv6). A string made only of digits, dots and `/`, or containing\n\
`:`, is read as an address.\n\n\
Example:\n\n    net { allow connect tcp 10.0.0.256 port 443 }    # error: 256 is not an octet";

    INVALID_PORT = "AP0303", "invalid-port",
        "a port outside 1-65535 or an empty range",
        "Ports are 1-65535; a range `lo..hi` is inclusive and needs `lo <= hi`. Port 0 is not a\n\
port a rule can name (a request's port 0 is matched only by rules without `port`).\n\n\
Example:\n\n    net { allow connect tcp port 8080..8000 }    # error: write 8000..8080";

    INVALID_GLOB = "AP0304", "invalid-glob",
        "a path glob that does not parse",
        "Path globs (semantics.md section 3): `*` any characters within a segment, `?` one character,\n\
`[a-z]`/`[!a-z]` a class, `{a,b}` alternatives, `\\c` a literal `c`, and `**` as a whole segment\n\
for zero or more segments. Errors: `**` inside a longer segment (write `a*`), an unclosed `[` or\n\
`{`, a `/` inside a class or alternative, nested braces, a trailing backslash.\n\n\
Example:\n\n    fs { allow read \"/srv/{a,b/c}\" }    # error: `/` inside an alternative";

    RELATIVE_PATH = "AP0305", "relative-path",
        "a path pattern that is not absolute",
        "Paths are matched as absolute paths, so a pattern must start with `/` or `~` (the agent's\n\
home) after `${...}` interpolation.\n\nExample:\n\n    fs { allow read \"work/**\" }    # error\n\nWrite `\"~/work/**\"` or an absolute path.";

    DOTDOT_SEGMENT = "AP0306", "dotdot-segment",
        "a `..` segment in a path",
        "A `..` segment cannot be resolved without the file system (it depends on symlinks), and the\n\
kernel reports resolved paths. Write the path without `..`.\n\nExample: `\"/srv/app/../data\"` -> `\"/srv/data\"`.";

    PATH_NOT_NORMALISED = "AP0307", "path-not-normalised",
        "a path with `//`, `.` segments or a trailing `/`",
        "The path was normalised (`//` collapsed, `.` segments and a trailing `/` removed). This is\n\
a warning because the result is probably what was meant; write the normal form to silence it.\n\n\
Example:\n\n    fs { allow read \"/srv//data/\" }     # warning: read as \"/srv/data\"";

    DOMAIN_WILDCARD = "AP0308", "domain-wildcard",
        "a `*` in a domain other than a whole first label",
        "A domain pattern may start with `*.` (`*.example.com` matches one or more labels in front\n\
of `example.com`, never `example.com` itself). A `*` anywhere else (`a*.example.com`,\n\
`api.*.com`, `*`) is not allowed.\n\nTo match any address, leave the targets out: `allow connect tcp port 443`.";

    NON_ASCII_DOMAIN = "AP0309", "non-ascii-domain",
        "a domain with non-ASCII characters",
        "Domains are matched in their ASCII (punycode) form, which is what resolvers and the network\n\
see. Write internationalised names in punycode: `bücher.example` is `xn--bcher-kva.example`.";

    TILDE_WITHOUT_HOME = "AP0310", "tilde-without-home",
        "a `~` path in an agent without `home`",
        "`~` in a path pattern expands to the agent's `home`. The pattern reached an agent (directly,\n\
through a profile, a set or a secret) that does not declare `home`.\n\n\
Example:\n\n    agent a { fs { allow read \"~/work/**\" } }    # error: `a` has no home\n\n\
Fix: add `home \"/home/agent\"` to the agent, or write an absolute path.";

    TOO_MANY_ALTERNATIVES = "AP0311", "too-many-alternatives",
        "a path glob whose braces expand to more than 256 alternatives",
        "Brace alternatives are expanded before matching; `{a,b}{c,d}` is four globs. One pattern may\n\
expand to at most 256.\n\n\
Example:\n\n    \"/d/{0,1,2,3}{0,1,2,3}{0,1,2,3}{0,1,2,3}{0,1,2,3}\"    # error: 1024 globs\n\n\
Use `*`, `?` or a class (`[0-3]`) instead of long alternative lists.";

    INVALID_DOMAIN = "AP0312", "invalid-domain",
        "a domain name that is not valid",
        "Domain names are dot-separated labels of letters, digits, `-` and `_` (no `-` at the start\n\
or end of a label), each 1-63 characters, 253 in all, and the last label is not all digits.\n\
A trailing `.` is removed and letters are lower-cased.\n\n\
Example:\n\n    net { allow connect tcp \"-bad-.example.com\" port 443 }    # error";

    INVALID_LIKE_PATTERN = "AP0313", "invalid-like-pattern",
        "a `like` or `args` pattern with a bad escape",
        "`like` patterns use Cedar syntax: `*` matches any characters, `\\*` is a literal star and\n\
`\\\\` a literal backslash. A backslash before any other character is an error.\n\
(In a string literal a backslash is itself written `\\\\`, so a literal star is `\"\\\\*\"`.)\n\n\
Example:\n\n    allow when note like \"a\\\\q\"     # error: `\\q` is not a `like` escape";

    VALUE_OUT_OF_RANGE = "AP0314", "value-out-of-range",
        "an integer too large for its position",
        "Tool `int` values are signed 64-bit (at most 9223372036854775807); a uid is at most\n\
4294967295. A larger literal cannot be compared or used.\n\n\
Example:\n\n    allow when amount < 9223372036854775808    # error";

    INVALID_ENV_VAR = "AP0315", "invalid-env-var",
        "an environment variable name that is not valid",
        "Environment variables are named with letters, digits and `_`, not starting with a digit.\n\
Other names cannot be set or scrubbed reliably.\n\n\
Example:\n\n    secret s { env \"1PASSWORD\" }    # error: write e.g. \"OP_SESSION\"";

    INVALID_HOME = "AP0316", "invalid-home",
        "a `home` that is not a plain absolute path",
        "`home` is what `~` expands to: an absolute, normalised path without wildcards, braces,\n\
escapes or `~`.\n\n\
Example:\n\n    agent a { home \"/home/*\" }    # error: write `home \"/home/agent\"`";

    INVALID_CGROUP_PATH = "AP0317", "invalid-cgroup-path",
        "a cgroup path that is not valid",
        "`scope cgroup \"PATH\"` names a cgroup v2 directory relative to the cgroup2 mount: non-empty\n\
segments separated by `/`, without `.`/`..`, wildcards or whitespace.\n\n\
Example:\n\n    scope cgroup \"agents/../x\"    # error: write `scope cgroup \"agentpol/openclaw\"`";

    INVALID_URL_PART = "AP0318", "invalid-url-part",
        "a value that a url part can never have",
        "URL parts are compared in their parsed (WHATWG) form: the scheme is lower-case\n\
(`[a-z][a-z0-9+.-]*`), the path starts with `/`, the port is 0-65535. A value that the part\n\
can never take would make the rule dead.\n\nExample: `u.scheme == \"HTTPS\"` -> `u.scheme == \"https\"`.";

    EMPTY_TARGETS = "AP0319", "empty-targets",
        "a rule whose target set is empty",
        "The rule names an empty set of targets, so it matches nothing. This is a warning because\n\
it is harmless, but usually a mistake (a set that was meant to be filled in).\n\n\
Example:\n\n    fs { allow read {} }    # warning";

    INVALID_SELECTOR = "AP0320", "invalid-selector",
        "a Kubernetes namespace or label that is not valid",
        "`selector` names a Kubernetes namespace (a DNS label: lower-case letters, digits and `-`,\n\
at most 63 characters) and pod labels (keys: an optional DNS prefix and `/`, then a name of\n\
letters, digits, `-`, `_`, `.`; values: at most 63 such characters, starting and ending\n\
alphanumeric, or empty).\n\n\
Example:\n\n    selector { namespace \"Agents\" }    # error: write \"agents\"";

    SET_TOO_LARGE = "AP0321", "set-too-large",
        "a set with too many elements after splicing",
        "Named sets spliced into other sets are expanded when the policy is checked; a set may hold\n\
at most 65536 distinct elements after that. Use wildcards (`*.example.com`, `/srv/**`), CIDRs\n\
or port ranges instead of listing every value.";

    // ---- AP04xx: policy structure ----

    SKILL_ESCALATION = "AP0401", "skill-escalation",
        "a skill that grants what its agent never grants",
        "A skill's requests are decided by both the agent's and the skill's rules, and the stricter\n\
answer wins: a skill can only narrow its agent. A skill rule that allows (or asks for) a\n\
kind of request (an fs or net action, exec, env, or a tool) for which the agent has no allow\n\
or ask rule at all can never take effect, and usually means the permission was meant to be\n\
given to the agent.\n\nExample:\n\n    agent a {\n      skill s { net { allow connect tcp port 443 } }    # error: `a` allows no connect\n    }\n\n\
Grant it in the agent too (the skill then narrows it), or remove the skill rule.";

    AGENT_IN_MODULE = "AP0402", "agent-in-imported-module",
        "an agent in an imported module",
        "Agents are compiled from the root file only; an imported module provides consts, sets,\n\
params, secrets, tools and profiles. An agent in an imported module would be silently\n\
ignored, so it is an error.\n\n\
Example (in lib.agentpol, imported by the root):\n\n    agent helper { }     # error\n\n\
Fix: turn it into a `profile` and `include` it from an agent in the root file.";

    MISPLACED_MEMBER = "AP0403", "misplaced-member",
        "a member that is not allowed in this kind of block",
        "`home`, `scope`, `resolvers` and `selector` describe a running agent and belong only in\n\
`agent` blocks. `skill` blocks belong only directly in agents (skills do not nest, and\n\
profiles have no skills).\n\nExample:\n\n    profile p { home \"/home/x\" }    # error\n\n\
Move the member into the agent.";

    DUPLICATE_MEMBER = "AP0404", "duplicate-member",
        "a member given twice",
        "An agent has one `home`, one `scope`, one `resolvers` and one `selector`; a selector has each\n\
label key once. A second one would silently override or contradict the first.\n\n\
Example:\n\n    agent a { home \"/home/a\"  home \"/home/b\" }    # error\n\n\
Remove or merge the duplicates.";

    INCLUDE_NOT_PROFILE = "AP0405", "include-not-profile",
        "`include` of something that is not a profile",
        "`include NAME` copies the rules of a profile. Agents cannot be included (an agent is a\n\
running program, not a set of rules). Turn the shared rules into a profile.\n\nExample:\n\n    profile base { fs { deny all \"~/.ssh/**\" } }\n    agent a { include base }";

    DOUBLE_INCLUDE = "AP0406", "double-include",
        "a profile included twice into the same agent or skill",
        "The profile reaches the same agent or skill twice (directly or through other profiles).\n\
Its rules are added once, at the first include. This is a warning: remove the second include.\n\n\
Example:\n\n    agent a { include base  include base }    # warning";

    IGNORED_IN_MODULE = "AP0407", "ignored-in-imported-module",
        "an assertion or test in an imported module",
        "Assertions and tests are compiled from the root file only; these are ignored. Run\n\
`agentpolc test` / `verify` on the module itself to use them, or move them to the root file.\n\n\
Example (in lib.agentpol, imported by the root):\n\n    test \"lib\" { expect deny a fs read \"/etc/shadow\" }    # warning: ignored";

    TEST_REQUEST_REJECTED = "AP0408", "test-request-rejected",
        "a test request that the evaluator will reject (and so deny)",
        "The tool call in this test misses a declared argument or gives a value of the wrong type.\n\
The evaluator rejects such requests and decides deny (fail closed). That is a warning: the\n\
test may mean to check exactly that, but usually an argument was forgotten.\n\n\
Example:\n\n    tool send(to: string, body: string)\n    test \"t\" { expect allow a tool send { to: \"x@example.com\" } }    # warning: no `body`";

    INVALID_TEST_REQUEST = "AP0409", "invalid-test-request",
        "a test request that is not a concrete request",
        "A test's `expect` line describes one concrete request: an absolute path, a single address\n\
(not a CIDR) or domain (not a wildcard), `tcp` or `udp` (not `any`), a port 0-65535, and\n\
values for declared tool arguments and params.\n\n\
Example:\n\n    expect deny a net connect any \"example.com\" port 443    # error: tcp or udp?";

    DUPLICATE_ACTION = "AP0410", "duplicate-action",
        "an action listed twice in one rule",
        "The action is listed more than once in one rule; it is used once. This is a warning:\n\
remove the duplicate.\n\n\
Example:\n\n    fs { allow read, read \"/usr/**\" }    # warning";


    UNUSED_ALLOW = "AP0411", "unused-allow",
        "a `#[allow(CODE)]` that silences nothing",
        "A `#[allow(CODE)]` comment silences warnings with that code on the item that follows it.\n\
This one silenced nothing in a run that checks for that code: the warning it was written for\n\
is gone, or it sits on the wrong item. Stale suppressions would hide the next real warning, so\n\
they are reported. (`check` does not run the verifier or the backends, so it does not judge\n\
pragmas for their codes; `verify` and `build` do.)\n\n\
Example:\n\n    fs {\n      #[allow(AP0502)]\n      allow read \"/srv/**\"    # warning if nothing here is redundant\n    }\n\n\
Remove the comment.";

    INVALID_ALLOW = "AP0412", "invalid-allow",
        "a `#[allow` comment that is not a valid suppression",
        "A comment starting with `#[allow` is read as a suppression: `#[allow(CODE, ...)]` alone on\n\
the line before the item it applies to (a top-level item, a block, or one rule). This one is\n\
malformed, names a code that does not exist, names an error (errors cannot be allowed: a policy\n\
the compiler rejects stays rejected), or is followed by no item.\n\n\
Example:\n\n    #[allow(AP502)]          # warning: codes have four digits\n    agent a { }\n\n\
Write the code as `agentpolc explain --list` shows it, or make the line a plain comment.";
}
