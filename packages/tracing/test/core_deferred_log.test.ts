// Logs whose `{}` arguments are formatted when the block closes must reach the sink exactly as
// eager formatting would have written them, inline and on the background thread alike.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { MemorySink, flushAllStreams, formatMessage, info, initDispatch, log, Level, logDescriptor, logWith, shutdownDispatch, warn } from '@micromegas/tracing';
import { decodeKind, logText, testProcess } from './core_helpers.ts';

afterEach(() => shutdownDispatch());

const CASES: [string, (string | number)[]][] = [
  ['user {} fetched {} items', ['alice', 42]],
  ['{}', ['']],
  ['no room for {}', ['a', 'b', 7]], // extra arguments are appended
  ['two {} and {} but one', ['x']], // missing arguments leave the placeholder
  ['{}{}{}', [-0, Number.NaN, Number.POSITIVE_INFINITY]],
  ['big {} small {} {}', [1e21, 5e-324, 0.1 + 0.2]],
  ['unicode {} {}', ['héllo wörld ✓', '😀 emoji']],
  ['lone surrogate {}', ['a\ud800b']],
  ['halves {}{}', ['x\ud83d', '\ude00y']], // pair up only in the whole string: formatted eagerly
  ['emoji template 😀 {}', ['z']], // surrogates in the template: formatted eagerly
  ['braces {}} {{}', ['p', 'q']],
  ['ints {} {}', [2 ** 53 + 2, -(2 ** 31)]],
];

// What UTF-8 can carry of the eagerly formatted text (a lone surrogate becomes U+FFFD).
function expected(): string[] {
  return CASES.map(([t, args]) => new TextDecoder().decode(new TextEncoder().encode(formatMessage(t, args))));
}

test('deferred formatting, inline compression: identical text to eager formatting', async () => {
  const sink = new MemorySink();
  initDispatch({ sink, process: testProcess(), backgroundCompression: false });
  for (const [t, args] of CASES) info(t, ...args);
  const desc = logDescriptor(Level.Warn, 'through a descriptor {} {}');
  logWith(desc, 'd', 1.5);
  info('static in between');
  log(Level.Error, 'with properties', { k: 'v' });
  warn('an object is formatted eagerly: {}', { a: 1 } as unknown as string);
  flushAllStreams();
  await shutdownDispatch();
  const texts = decodeKind(sink, 'log').map(logText);
  assert.deepEqual(texts, [
    ...expected(),
    'through a descriptor d 1.5',
    'static in between',
    'with properties',
    'an object is formatted eagerly: { a: 1 }',
  ]);
  const types = decodeKind(sink, 'log').map((o) => o.typeName);
  assert.equal(types[0], 'LogStringEventV2');
});

test('deferred formatting on the background compression thread', async () => {
  const sink = new MemorySink();
  initDispatch({ sink, process: testProcess(), logBufferBytes: 96 * 1024 });
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const [t, args] = CASES[i % CASES.length]!;
    if (i % 7 === 0) info('static {}'.slice(0, 6));
    else info(t, ...args);
  }
  await shutdownDispatch();
  assert.ok(sink.blocksOf('log').length >= 3, 'several full blocks went through the background thread');
  const want = expected();
  const texts = decodeKind(sink, 'log').map(logText);
  assert.equal(texts.length, n);
  texts.forEach((text, i) => assert.equal(text, i % 7 === 0 ? 'static' : want[i % CASES.length], `event ${i}`));
});
