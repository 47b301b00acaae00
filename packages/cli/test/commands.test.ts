import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHelp } from '../src/command.ts';
import { COMMANDS } from '../src/commands/index.ts';

test('every command of the registry loads, keeps its name and summary, and has --help text', async () => {
  assert.deepEqual(COMMANDS.map((c) => c.name), ['serve', 'ingestion', 'flightsql', 'daemon', 'migrate', 'generate', 'query', 'processes', 'logs']);
  for (const entry of COMMANDS) {
    const spec = await entry.load();
    assert.equal(spec.name, entry.name);
    assert.equal(spec.summary, entry.summary);
    assert.equal(typeof spec.run, 'function');
    const help = renderHelp(spec);
    assert.match(help, new RegExp(`^Usage: micromegas ${entry.name} \\[options\\]`));
    assert.ok(help.includes(entry.summary) && help.includes('--help'), help);
  }
});
