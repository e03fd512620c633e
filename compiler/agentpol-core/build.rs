//! Compiles the lalrpop grammar and tracks the embedded standard library.
fn main() {
    // The grammar is compiled to Rust at build time; see src/syntax/grammar.lalrpop.
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("lalrpop grammar failed to build");
    // A grammar file added later must also trigger a rebuild.
    println!("cargo:rerun-if-changed=src/syntax");
    // The std library is embedded with include_str!; rebuild when it changes.
    println!("cargo:rerun-if-changed=../../stdlib-policies");
}
