// The Prism extension: a thin client that runs `prism lsp` and talks to it over stdio.
// Highlighting comes from the TextMate grammar; everything else (diagnostics, hovers, …)
// comes from the language server.

import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  type DocumentSelector,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';

const CLIENT_ID = 'prism';
const CLIENT_NAME = 'Prism Language Server';

let client: LanguageClient | undefined;
let outputChannel: vscode.OutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(
    outputChannel,
    vscode.commands.registerCommand('prism.restartServer', restartServer),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (
        event.affectsConfiguration('prism.serverPath') ||
        event.affectsConfiguration('prism.serverArgs') ||
        event.affectsConfiguration('prism.yaml.enable')
      ) {
        void restartServer();
      }
    }),
  );
  await startServer();
}

export async function deactivate(): Promise<void> {
  await stopServer();
}

async function startServer(): Promise<void> {
  const config = vscode.workspace.getConfiguration('prism');
  const command = resolveServerPath(config.get<string>('serverPath', 'prism'));
  const args = config.get<string[]>('serverArgs', ['lsp']);

  // No `transport` field: the client then speaks over the child's stdin/stdout without
  // appending a `--stdio` flag, so the server is started exactly as `prism lsp`.
  const run = { command, args, options: { env: process.env } };
  const serverOptions: ServerOptions = { run, debug: run };

  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(config.get<boolean>('yaml.enable', true)),
    synchronize: {
      // Imports and pattern compositions refer to other files; tell the server when they change.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{prism,yaml,yml}'),
    },
    outputChannel,
  };

  client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message = error instanceof Error ? error.message : String(error);
    const openSettings = 'Open Settings';
    const choice = await vscode.window.showErrorMessage(
      `Could not start the Prism language server (\`${command} ${args.join(' ')}\`): ${message}. ` +
        'Install `prism` on your PATH or set `prism.serverPath`.',
      openSettings,
    );
    if (choice === openSettings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'prism.serverPath');
    }
  }
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (error) {
      // The server may already have exited; there is nothing left to stop.
      outputChannel?.appendLine(`Stopping the server: ${String(error)}`);
    }
  }
}

async function restartServer(): Promise<void> {
  await stopServer();
  await startServer();
}

/** `.prism` files always; YAML pattern files too unless disabled (the server decides which are patterns). */
function documentSelector(includeYaml: boolean): DocumentSelector {
  const languages = includeYaml ? ['prism', 'yaml'] : ['prism'];
  return languages.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}

/**
 * Expands `~` and `${workspaceFolder}` and makes a relative path (one containing a
 * separator) absolute against the first workspace folder. A bare name such as `prism`
 * is left alone so that it is looked up on PATH.
 */
function resolveServerPath(configured: string): string {
  const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let resolved = configured.trim() || 'prism';
  if (workspaceFolder) {
    resolved = resolved.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  if (resolved === '~' || resolved.startsWith('~/')) {
    resolved = path.join(os.homedir(), resolved.slice(1));
  }
  const hasSeparator = resolved.includes('/') || resolved.includes('\\');
  if (hasSeparator && !path.isAbsolute(resolved) && workspaceFolder) {
    resolved = path.join(workspaceFolder, resolved);
  }
  return resolved;
}
