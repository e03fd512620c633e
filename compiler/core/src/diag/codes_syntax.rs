//! Codes of the lexer and parser (`AP00xx`).

crate::diagnostic_codes! {
    list SYNTAX_CODES;
    UNEXPECTED_CHAR = "AP0001", "unexpected-character",
        "a character that cannot start any token",
        "A character appeared that is not part of the agentpol syntax.\n\nStrings are written in double quotes; comments start with `#`.";
}
