//! Codes of the lexer and parser (`AP00xx`).

crate::diagnostic_codes! {
    list SYNTAX_CODES;
    UNEXPECTED_CHAR = "AP0001", "unexpected-character",
        "a character that cannot start any token",
        "A character appeared that is not part of the agentpol syntax, outside a \
string or comment. The lexer skips it and goes on, but the file is rejected.\n\n\
Common causes: a single-quoted string (`'x'`; agentpol strings use double \
quotes), a `;` after a rule (rules need no separator), `&&`/`||`/`!` (write \
`and`, `or`, `not`), or an unquoted path (`/etc/passwd`; paths are strings).\n\n\
Example:\n\n    fs { allow read '/etc/hosts' }     # error\n    fs { allow read \"/etc/hosts\" }     # ok";
    UNTERMINATED_STRING = "AP0002", "unterminated-string",
        "a string literal with no closing quote",
        "A string was opened with `\"` but the file ended before the closing `\"`. \
Everything after the opening quote was read as part of the string, so the rest \
of the file is not checked until this is fixed.\n\n\
A quote inside a string is written `\\\"`.\n\n\
Example:\n\n    home \"/home/agent      # error: no closing quote\n    home \"/home/agent\"     # ok";
    UNEXPECTED_TOKEN = "AP0003", "unexpected-token",
        "a token that the grammar does not allow here",
        "The parser found a token that cannot appear at this point. The message \
lists what could appear instead. The parser skips to the next rule, member or \
item and goes on, so one mistake does not hide the rest of the file; errors \
that are only a consequence of an earlier one are not reported.\n\n\
Keywords (`file`, `path`, `port`, ...) are reserved: they cannot name a const, \
set, param, secret, agent, profile or skill. They are accepted where a name \
cannot be confused with syntax: tool names, tool argument names, record fields, \
URL fields and label keys. One exception: the first word of a condition operand \
cannot be `not`, because `not not in S` would be ambiguous.\n\n\
Example:\n\n    fs { allow raed \"/tmp/**\" }    # error: `raed` is not an action\n    fs { allow read \"/tmp/**\" }    # ok";
    UNEXPECTED_EOF = "AP0004", "unexpected-end-of-file",
        "the file ends in the middle of a construct",
        "The file ended before a construct was complete, most often because a \
`}` is missing. The label points at the end of the file; a second label points \
at the `{` that was never closed, if there is one.\n\n\
Example:\n\n    agent a {\n      fs { allow read \"/tmp/**\" }\n    # error: the `{` after `agent a` is never closed";
    NESTING_TOO_DEEP = "AP0005", "nesting-too-deep",
        "parentheses, `not`, braces or `set<...>` nested more than 64 deep",
        "Parentheses and `not` in a condition may nest at most 64 deep; braces and \
`set<...>` types also at most 64 deep. Deeper nesting is rejected before a tree \
is built, so a hostile file cannot exhaust the compiler's stack. The input from \
the offending token to the end of the nested construct is skipped.\n\n\
Long `and`/`or` chains are not nesting: `a or b or c or ...` may be as long as \
you like. Rewrite deep nesting as a flat chain, or split the rule into several \
rules (rules of the same effect are alternatives).\n\n\
Example:\n\n    allow when not not not ... x == 1    # 65 `not`s: error\n    allow when x != 1                   # ok";
    INVALID_ESCAPE = "AP0006", "invalid-escape",
        "a backslash escape that does not exist",
        "Inside a string, a backslash starts an escape. The escapes are `\\\\` \
(backslash), `\\\"` (quote), `\\n` (newline), `\\t` (tab) and `\\$` (a literal \
`$`, needed before `{`). Any other character after a backslash is an error.\n\n\
Glob patterns that need a literal backslash write it twice.\n\n\
Example:\n\n    allow read \"C:\\data\"      # error: `\\d` is not an escape\n    allow read \"/data/\\\\*\"    # ok: a backslash followed by `*`";
    INTEGER_OUT_OF_RANGE = "AP0007", "integer-out-of-range",
        "an integer too large for its place",
        "Integers are unsigned and must fit in 64 bits (at most 18446744073709551615); \
a `version` must fit in 32 bits. Ports, uids and other numbers have tighter \
ranges, which the checker enforces.\n\n\
Example:\n\n    version 99999999999     # error\n    version 1               # ok";
    UNTERMINATED_INTERPOLATION = "AP0008", "unterminated-interpolation",
        "a `${` in a string without its closing `}`",
        "Inside a string, `${` starts an interpolation of a const, which must be \
closed with `}` before the string ends. To write a literal `${`, escape the \
dollar: `\\${`.\n\n\
Example:\n\n    allow read \"${WORK/**\"      # error\n    allow read \"${WORK}/**\"     # ok";
    INVALID_INTERPOLATION = "AP0009", "invalid-interpolation",
        "a `${...}` that does not hold a name",
        "An interpolation holds exactly one const name, possibly qualified: \
`${WORK}` or `${std::paths::HOME}`. Spaces, expressions and empty `${}` are not \
allowed. To write a literal `${`, escape the dollar: `\\${`.\n\n\
Example:\n\n    home \"${ HOME }\"     # error: spaces\n    home \"${HOME}\"       # ok";
    DUPLICATE_NAMESPACE = "AP0010", "duplicate-namespace",
        "a selector with more than one `namespace`",
        "A Kubernetes selector names at most one namespace. Several `labels { ... }` \
groups are merged, but two `namespace` lines cannot both hold.\n\n\
Example:\n\n    selector { namespace \"a\" namespace \"b\" }     # error\n    selector { namespace \"a\" labels { app: \"x\" } }   # ok";
    TOO_MANY_ERRORS = "AP0011", "too-many-syntax-errors",
        "more syntax errors than are worth showing",
        "After 100 syntax errors the rest are counted but not shown; the file is \
most likely not an agentpol policy, or an early mistake (such as an unclosed \
string) confuses everything after it. Fix the first errors and try again.";
}
