//! A real editor client: headless Neovim (Debian's 0.7, `vim.lsp.start_client`
//! and `vim.lsp.buf_attach_client`) opens a policy with a planted error through
//! `agentpolc lsp` and reports the diagnostic and a go-to-definition result.
//!
//! Opt-in with `AGENTPOL_EDITOR_TESTS=1` (CI sets it): asked for, a missing
//! `nvim` fails the test; not asked for, it prints why it skipped.

use std::process::Command;

const POLICY: &str = r#"version 1

const REPO = "/home/dev/src"

agent coder {
  fs {
    allow read "${REPO}/**"
    allow read "${REPOO}/x"
  }
}
"#;

const LUA: &str = r#"
local bin, file, out = _G.arg_bin, _G.arg_file, _G.arg_out
local function finish(lines)
  local f = io.open(out, "w"); f:write(table.concat(lines, "\n")); f:close()
  vim.cmd("qall!")
end
vim.cmd("edit " .. file)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ cmd = { bin, "lsp", "--no-verify" }, name = "agentpol", root_dir = vim.fn.fnamemodify(file, ":h") })
vim.lsp.buf_attach_client(buf, id)
local ok = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
if not ok then return finish({ "no diagnostics" }) end
local lines = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(lines, string.format("diag %d:%d %s", d.lnum, d.col, tostring(d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code))))
end
local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = 6, character = 18 } }
local res = vim.lsp.buf_request_sync(buf, "textDocument/definition", params, 20000)
for _, r in pairs(res or {}) do
  local loc = r.result
  if loc and loc.uri == nil then loc = loc[1] end
  if loc then table.insert(lines, string.format("def %d:%d", loc.range.start.line, loc.range.start.character)) end
  if r.err then table.insert(lines, "err " .. vim.inspect(r.err)) end
end
finish(lines)
"#;

#[test]
fn neovim_shows_the_diagnostic_and_jumps_to_the_definition() {
    if std::env::var("AGENTPOL_EDITOR_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set AGENTPOL_EDITOR_TESTS=1 to run the Neovim client test (needs nvim)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("main.agentpol");
    std::fs::write(&file, POLICY).unwrap();
    let lua = dir.path().join("test.lua");
    std::fs::write(&lua, LUA).unwrap();
    let out = dir.path().join("out.txt");
    let set = format!(
        "lua _G.arg_bin={:?}; _G.arg_file={:?}; _G.arg_out={:?}",
        env!("CARGO_BIN_EXE_agentpolc"),
        file.to_str().unwrap(),
        out.to_str().unwrap()
    );
    let status = Command::new("nvim")
        .args(["--headless", "--clean", "-c", &set, "-c"])
        .arg(format!("luafile {}", lua.display()))
        .status()
        .expect("AGENTPOL_EDITOR_TESTS=1 but `nvim` could not be run");
    assert!(status.success(), "nvim: {status}");
    let got = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    // The unknown const `REPOO` on line 8 (0-based 7), column of the name
    // inside `${...}`; and `REPO` on line 7 jumps to its const (line 3, col 6).
    assert_eq!(lines.len(), 2, "{got}");
    assert!(lines[0].starts_with("diag 7:"), "{got}");
    assert!(lines[0].contains(" AP"), "{got}");
    assert_eq!(lines[1], "def 2:6", "{got}");
}
