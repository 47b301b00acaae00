// Log API. A message without arguments is a static event: 8 bytes of descriptor id + time, its
// text travels once per block as the descriptor's format string. With arguments the message is
// formatted and sent as text (LogStringEventV2); with properties as TaggedLogString.
//
// Formatting: `{}` placeholders are filled in order with the arguments (upstream's style); if the
// message has no `{}`, it follows util.format / console.log (`%s %d %o …`, extra arguments appended).
import { format, inspect } from 'node:util';
import { deferrableArgs } from './deferred_log.ts';
import { LogDescriptor, propertySetOf, type SiteOptions } from './descriptors.ts';
import { state } from './dispatch.ts';
import { Level, isLevel } from './levels.ts';
import { internString } from './strings.ts';
import { ticksNow } from './time.ts';

// Static messages map to descriptors per level. Programs that log ever-new texts without
// arguments would grow this forever, so past MAX_CACHED texts per level new ones travel as text.
const MAX_CACHED = 10000;
const caches: Map<string, LogDescriptor>[] = [0, 1, 2, 3, 4, 5, 6].map(() => new Map());
const overflow: (LogDescriptor | null)[] = [null, null, null, null, null, null, null];

function descriptorFor(level: Level, message: string): LogDescriptor | null {
  const cache = caches[level]!;
  const desc = cache.get(message);
  if (desc !== undefined) return desc;
  return newDescriptorFor(cache, level, message);
}

// Kept out of descriptorFor so that the hot lookup stays small enough to inline whole, leaving
// TurboFan's inlining budget for the clock read (see metrics.ts).
function newDescriptorFor(cache: Map<string, LogDescriptor>, level: Level, message: string): LogDescriptor | null {
  if (cache.size >= MAX_CACHED) return null;
  const created = new LogDescriptor(level, message);
  cache.set(message, created);
  return created;
}

function overflowDescriptor(level: Level): LogDescriptor {
  return (overflow[level] ??= new LogDescriptor(level, '{}', { target: 'js', file: '', line: 0 }));
}

function staticLog(level: Level, message: string): void {
  const desc = descriptorFor(level, message);
  if (desc !== null) state.log!.logStatic(desc, ticksNow());
  else state.log!.logString(overflowDescriptor(level), null, ticksNow(), message);
}

function formattedLog(level: Level, template: string, args: unknown[]): void {
  const desc = descriptorFor(level, template);
  if (desc === null) state.log!.logString(overflowDescriptor(level), null, ticksNow(), formatMessage(template, args));
  else if (desc.deferrable && deferrableArgs(args)) state.log!.logDeferred(desc, ticksNow(), args);
  else state.log!.logString(desc, null, ticksNow(), formatMessage(template, args));
}

function argText(a: unknown): string {
  return typeof a === 'string' ? a : typeof a === 'object' && a !== null ? inspect(a, { breakLength: Infinity }) : String(a);
}

/** The text of a message with arguments (see the module comment for the rules). */
export function formatMessage(template: string, args: readonly unknown[]): string {
  if (!template.includes('{}')) return format(template, ...args);
  let out = '';
  let from = 0;
  let i = 0;
  for (let at = template.indexOf('{}'); at >= 0 && i < args.length; at = template.indexOf('{}', from)) {
    out += template.slice(from, at) + argText(args[i++]);
    from = at + 2;
  }
  out += template.slice(from);
  for (; i < args.length; i++) out += ' ' + argText(args[i]);
  return out;
}

export function fatal(message: string, ...args: unknown[]): void {
  if (Level.Fatal > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Fatal, message);
  else formattedLog(Level.Fatal, message, args);
}
export function error(message: string, ...args: unknown[]): void {
  if (Level.Error > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Error, message);
  else formattedLog(Level.Error, message, args);
}
export function warn(message: string, ...args: unknown[]): void {
  if (Level.Warn > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Warn, message);
  else formattedLog(Level.Warn, message, args);
}
export function info(message: string, ...args: unknown[]): void {
  if (Level.Info > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Info, message);
  else formattedLog(Level.Info, message, args);
}
export function debug(message: string, ...args: unknown[]): void {
  if (Level.Debug > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Debug, message);
  else formattedLog(Level.Debug, message, args);
}
export function trace(message: string, ...args: unknown[]): void {
  if (Level.Trace > state.maxLevel) return;
  if (args.length === 0) staticLog(Level.Trace, message);
  else formattedLog(Level.Trace, message, args);
}

/** A message at `level`, optionally with properties (then sent as TaggedLogString). */
export function log(level: Level, message: string, properties?: Record<string, string> | Map<string, string>): void {
  if (level > state.maxLevel || !isLevel(level)) return;
  if (properties === undefined) staticLog(level, message);
  else state.log!.logString(descriptorFor(level, message) ?? overflowDescriptor(level), propertySetOf(properties), ticksNow(), message);
}

/** Fully formatted text from another logging library (console, pino): LogStringInteropEventV3. */
export function logInterop(level: Level, target: string, message: string): void {
  if (level > state.maxLevel || !isLevel(level)) return;
  state.log!.logInterop(ticksNow(), level, internString(target), message);
}

/** A log call site created once; cheaper than looking the message up on every call. */
export function logDescriptor(level: Level, message: string, options?: SiteOptions): LogDescriptor {
  if (!isLevel(level)) throw new RangeError(`tracing: invalid level ${String(level)}`);
  return new LogDescriptor(level, message, options);
}

/** Logs through a descriptor: static without arguments, formatted text with them. */
export function logWith(desc: LogDescriptor, ...args: unknown[]): void {
  if (desc.level > state.maxLevel) return;
  if (args.length === 0) state.log!.logStatic(desc, ticksNow());
  else if (desc.deferrable && deferrableArgs(args)) state.log!.logDeferred(desc, ticksNow(), args);
  else state.log!.logString(desc, null, ticksNow(), formatMessage(desc.fmt.text, args));
}
