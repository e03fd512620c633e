//! Codes of name resolution, type checking and lowering (`AP01xx`–`AP04xx`).

crate::diagnostic_codes! {
    list CHECK_CODES;
    UNDEFINED_NAME = "AP0101", "undefined-name",
        "a name that is not defined",
        "A name was used that no `const`, `set`, `param`, `secret`, `tool`, `profile` or import defines.\n\nThe help line suggests the closest defined name.";
}
