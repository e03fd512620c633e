//! Diagnostic codes of the `agentpolc` binary itself (`AP09xx`): reading files
//! and build directories, and warning suppression.
//!
//! These carry no policy span unless the file could be read as text (invalid
//! UTF-8 points at the offending byte).

agentpol_core::diagnostic_codes! {
    list CLI_CODES;

    FILE_TOO_LARGE = "AP0901", "file-too-large",
        "a file is larger than agentpolc reads",
        "agentpolc reads every file (policy sources, imports, requests, the IR and the \
manifest of a build directory) with a size cap, so a path such as `/dev/zero` or a \
runaway generated file cannot exhaust memory. The caps are: policy sources and imports \
8 MiB each, requests 1 MiB, `ir/policy.json`, `manifest.json` and other build artefacts \
64 MiB.\n\n\
Why it is an error: reading past the cap would make memory use depend on the input; \
a file that large is not a policy.\n\n\
How to fix: split the policy into several files joined with `import`/`include`, or check \
that the path names the file you meant.";

    NOT_A_REGULAR_FILE = "AP0902", "not-a-regular-file",
        "a path names a directory, device, FIFO or socket instead of a file",
        "agentpolc only reads regular files (symbolic links to regular files are \
followed). A device such as `/dev/zero` never ends, a FIFO can block forever, and a \
directory has no text.\n\n\
How to fix: name the policy file itself, e.g.\n\n    import \"lib/common.agentpol\"\n\n\
To read a request from a pipe, pass `-` for stdin (which is capped at the same size).";

    INVALID_UTF8 = "AP0903", "invalid-utf8",
        "a file is not valid UTF-8",
        "Policy sources and requests are UTF-8 text. The diagnostic points at the first \
byte that is not part of a valid UTF-8 sequence (a UTF-8 byte-order mark at the start \
of the file is accepted and skipped).\n\n\
How to fix: re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in > out`.";

    ARTIFACT_MISMATCH = "AP0904", "build-artifact-mismatch",
        "a file of a build directory differs from what the manifest recorded",
        "`agentpolc build -o DIR` records the SHA-256 of every file it writes in \
`DIR/manifest.json` (`artifacts`). Commands that read a build directory (`authorize`, \
`apply`, `run`) check every recorded hash before using anything, and refuse the \
directory when a file is missing, changed, or not listed.\n\n\
Why it is an error: an edited `ir/policy.json` would make the decision index and the \
evaluator allow what the emitted Cedar policy denies; nothing read from a tampered \
build can be trusted.\n\n\
How to fix: rebuild the directory from the source:\n\n    agentpolc build policy.agentpol -o DIR";

    MANIFEST_INVALID = "AP0905", "build-manifest-invalid",
        "a build directory's manifest is missing, malformed or of another version",
        "A build directory is what `agentpolc build -o DIR` wrote: `DIR/manifest.json` \
names the IR and every artefact with its hash. A manifest that cannot be parsed, that \
lacks the `artifacts` list, or that has another `manifest_version` is refused.\n\n\
How to fix: rebuild the directory with this agentpolc:\n\n    agentpolc build policy.agentpol -o DIR";
}
