// Starts `agentpolc lsp` for .agentpol files and shows `std` modules
// (go-to-definition targets) as read-only `agentpol-std:` documents.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("agentpol");
  const command = config.get<string>("server.path", "agentpolc");
  const extra = config.get<string[]>("server.extraArgs", []);
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp", ...extra],
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "agentpol" },
      { scheme: "untitled", language: "agentpol" },
      { scheme: "agentpol-std", language: "agentpol" },
    ],
  };
  client = new LanguageClient("agentpol", "agentpol", serverOptions, clientOptions);

  // The server owns the std sources; ask it for their text.
  const provider: vscode.TextDocumentContentProvider = {
    provideTextDocumentContent: async (uri) =>
      (await client?.sendRequest<string>("agentpol/stdSource", { uri: uri.toString() })) ?? "",
  };
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider("agentpol-std", provider),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
