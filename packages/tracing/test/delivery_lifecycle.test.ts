// Exit hooks, checked on real child processes that report to a real loopback server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { TestIngestionServer } from './delivery_test_server.ts';

const INDEX = JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs `body` as an ES module after `startTelemetry(<startOptions>)`; `onStdout` sees its output. */
function runChild(server: TestIngestionServer, startOptions: string, body: string, onStdout?: (text: string, pid: number) => void): Promise<ChildResult> {
  const script = `
    import { startTelemetry, info, error } from ${INDEX};
    startTelemetry({ url: ${JSON.stringify(server.url)}, ${startOptions} });
    ${body}
  `;
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, MICROMEGAS_TELEMETRY_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, child.pid!);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started })),
  );
}

function messages(server: TestIngestionServer): string[] {
  return server.logEntries().map((e) => `${e.level} ${e.message}`);
}

test('a program that ends normally delivers its last logs before exiting', async () => {
  const server = await TestIngestionServer.start();
  const result = await runChild(server, '', `info('last words'); error('an error {}', 42);`);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(messages(server), ['INFO last words', 'ERROR an error 42']);
  await server.down();
});

test('SIGTERM: delivers, then terminates like the default handler', async () => {
  const server = await TestIngestionServer.start();
  const result = await runChild(
    server,
    '',
    `info('working'); setInterval(() => {}, 1000); console.log('ready');`,
    (out, pid) => {
      if (out.includes('ready')) process.kill(pid, 'SIGTERM');
    },
  );
  assert.equal(result.signal, 'SIGTERM', `code ${result.code}, stderr ${result.stderr}`);
  assert.deepEqual(messages(server), ['INFO working']);
  await server.down();
});

test('SIGINT with a handler of the program: delivers and lets the program decide', async () => {
  const server = await TestIngestionServer.start();
  const result = await runChild(
    server,
    '',
    `process.on('SIGINT', () => { console.log('handled'); setTimeout(() => process.exit(7), 500); });
     info('interrupted'); setInterval(() => {}, 1000); console.log('ready');`,
    (out, pid) => {
      if (out.endsWith('ready\n')) process.kill(pid, 'SIGINT');
    },
  );
  assert.equal(result.code, 7, result.stderr);
  assert.match(result.stdout, /handled/);
  assert.deepEqual(messages(server), ['INFO interrupted']);
  await server.down();
});

test('an uncaught exception is logged as fatal, printed, delivered, and exits with 1', async () => {
  const server = await TestIngestionServer.start();
  const result = await runChild(server, '', `info('before'); setTimeout(() => { throw new Error('boom'); }, 10);`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: boom\n\s+at /);
  const received = messages(server);
  assert.equal(received[0], 'INFO before');
  assert.match(received[1]!, /^FATAL uncaught exception: Error: boom\n\s+at /);
  await server.down();
});

test('an unhandled rejection is logged as fatal and exits with 1', async () => {
  const server = await TestIngestionServer.start();
  const result = await runChild(server, '', `Promise.reject(new Error('nope'));`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: nope/);
  assert.match(messages(server)[0]!, /^FATAL unhandled promise rejection: Error: nope/);
  await server.down();
});

test('a server that never answers delays the exit by the shutdown bound only', async () => {
  const server = await TestIngestionServer.start();
  server.reply = () => 'hang';
  const result = await runChild(server, 'http: { shutdownTimeoutMs: 500, warn: () => {} }', `info('lost');`);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.elapsedMs < 4_000, `exit took ${result.elapsedMs} ms`);
  assert.equal(server.on('insert_process').length, 1);
  await server.down();
});
