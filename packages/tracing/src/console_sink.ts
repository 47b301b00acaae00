// A sink for local development: prints log entries (and a short line per metric or span block) to
// stderr instead of sending anything over the network.
import { decodeTransitPayload, TransitObject } from '@micromegas/transit';
import type { ProcessInfo, StreamInfo, TransitValue } from '@micromegas/transit';
import type { EventSink, FinishedBlock, StreamKind } from './sink.ts';
import { ticksToRfc3339 } from './time.ts';

const LEVEL_NAMES = ['', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'];

export interface ConsoleSinkOptions {
  /** Where lines go; one line per call, without its newline. Default: stderr. */
  write?: (line: string) => void;
  /** Also print metric values (default true) and a summary of each span block (default false). */
  metrics?: boolean;
  spans?: boolean;
}

/** One printable log entry decoded from a log block. */
export interface ConsoleLogEntry {
  time: string;
  level: string;
  target: string;
  message: string;
  properties?: Record<string, string>;
}

export class ConsoleSink implements EventSink {
  private readonly write: (line: string) => void;
  private readonly showMetrics: boolean;
  private readonly showSpans: boolean;

  constructor(options: ConsoleSinkOptions = {}) {
    this.write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
    this.showMetrics = options.metrics ?? true;
    this.showSpans = options.spans ?? false;
  }

  onStartup(processInfo: ProcessInfo): void {
    this.safely(() => this.write(`micromegas: process ${processInfo.processId} (${processInfo.exe}) started ${processInfo.startTime}`));
  }

  onStreamInit(_stream: StreamInfo, _kind: StreamKind): void {}

  onBlock(finished: FinishedBlock): void {
    this.safely(() => {
      if (finished.kind === 'log') {
        for (const entry of decodeLogEntries(finished)) this.write(formatLogEntry(entry));
      } else if (finished.kind === 'metrics') {
        if (!this.showMetrics) return;
        for (const line of describeMetrics(finished)) this.write(line);
      } else if (this.showSpans) {
        const name = finished.stream.properties.get('thread-name') ?? finished.stream.streamId;
        this.write(`micromegas: ${finished.block.nbObjects} span events from thread ${name}`);
      }
    });
  }

  async flush(): Promise<void> {}

  async shutdown(): Promise<void> {}

  private safely(action: () => void): void {
    try {
      action();
    } catch (error) {
      try {
        this.write(`micromegas: console sink could not print a block: ${error instanceof Error ? error.message : String(error)}`);
      } catch {
        // Nowhere left to report to.
      }
    }
  }
}

export function formatLogEntry(entry: ConsoleLogEntry): string {
  const props = entry.properties && Object.keys(entry.properties).length > 0 ? ` ${JSON.stringify(entry.properties)}` : '';
  return `${entry.time} ${entry.level.padEnd(5)} [${entry.target}] ${entry.message}${props}`;
}

/** Decodes the log entries of a log block, whatever event types it holds. */
export function decodeLogEntries(finished: FinishedBlock): ConsoleLogEntry[] {
  const { objects } = decodeTransitPayload(finished.stream, finished.block.payload);
  const entries: ConsoleLogEntry[] = [];
  for (const event of objects) {
    if (!(event instanceof TransitObject)) continue;
    const desc = event.get('desc');
    const fromDesc = (name: string): TransitValue | undefined => (desc instanceof TransitObject ? desc.get(name) : undefined);
    const level = Number(event.get('level') ?? fromDesc('level') ?? 0);
    const entry: ConsoleLogEntry = {
      time: timeText(event.get('time')),
      level: LEVEL_NAMES[level] ?? `L${level}`,
      target: text(event.get('target') ?? fromDesc('target')),
      message: text(event.get('msg') ?? fromDesc('fmt_str')),
    };
    const properties = propertiesOf(event.get('properties'));
    if (properties) entry.properties = properties;
    entries.push(entry);
  }
  return entries;
}

function describeMetrics(finished: FinishedBlock): string[] {
  const { objects } = decodeTransitPayload(finished.stream, finished.block.payload);
  const lines: string[] = [];
  for (const event of objects) {
    if (!(event instanceof TransitObject)) continue;
    const desc = event.get('desc');
    const name = desc instanceof TransitObject ? text(desc.get('name')) : '?';
    const unit = desc instanceof TransitObject ? text(desc.get('unit')) : '';
    const properties = propertiesOf(event.get('properties'));
    const props = properties ? ` ${JSON.stringify(properties)}` : '';
    lines.push(`${timeText(event.get('time'))} METRIC ${name}=${String(event.get('value'))}${unit ? ` ${unit}` : ''}${props}`);
  }
  return lines;
}

function timeText(value: TransitValue | undefined): string {
  if (typeof value === 'bigint' || typeof value === 'number') return ticksToRfc3339(Number(value));
  return '?';
}

function text(value: TransitValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof TransitObject) return text(value.get('value') ?? value.get('name'));
  return String(value);
}

// Property sets decode as an object whose members are the properties.
function propertiesOf(value: TransitValue | undefined): Record<string, string> | undefined {
  if (!(value instanceof TransitObject)) return undefined;
  const result: Record<string, string> = {};
  for (const [key, v] of value.members) result[key] = text(v);
  return result;
}
