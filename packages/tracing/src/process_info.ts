// Describes this process to the ingestion service (the body of insert_process), following what
// upstream's Rust client reports, adapted to Node.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProcessInfo } from '@micromegas/transit';
import { TSC_FREQUENCY, dualTimeNow } from './time.ts';

export const PARENT_PROCESS_ENV = 'MICROMEGAS_TELEMETRY_PARENT_PROCESS';
export const PROCESS_PROPERTIES_ENV = 'MICROMEGAS_PROCESS_PROPERTIES';

/** Bad telemetry configuration (environment variable or option), reported in one clear line. */
export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
}

export interface CollectProcessInfoOptions {
  /** Highest precedence; override MICROMEGAS_PROCESS_PROPERTIES and the defaults. */
  properties?: Record<string, string>;
  /** The executable name to report instead of the main script's path (e.g. a tool's own name). */
  exe?: string;
  /** Environment to read (and to write the parent-process variable into); process.env by default. */
  env?: NodeJS.ProcessEnv;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESERVED_PREFIX = 'micromegas.';

/**
 * Collects the process description. `exe` is the main script (argv[1], absolute) when there is one,
 * because every Node program's execPath is just the node binary; otherwise execPath.
 * Side effect, as upstream: sets MICROMEGAS_TELEMETRY_PARENT_PROCESS to our own id in `env`, so
 * child processes started from here report us as their parent.
 */
export function collectProcessInfo(options: CollectProcessInfoOptions = {}): ProcessInfo {
  const env = options.env ?? process.env;
  const processId = randomUUID();
  const exe = options.exe ?? mainExecutable();
  const username = currentUsername();
  const realname = realnameOf(username);
  const computer = os.hostname();
  const distro = distroName();
  const cpus = os.cpus();
  const cpuBrand = cpus[0]?.model?.trim() || os.arch();
  const parentProcessId = parentFromEnv(env[PARENT_PROCESS_ENV]);
  env[PARENT_PROCESS_ENV] = processId;

  const defaults: Record<string, string> = {
    exe,
    username,
    realname,
    computer,
    distro,
    cpu_brand: cpuBrand,
    physical_core_count: String(physicalCoreCount(cpus.length)),
    logical_cpu_count: String(cpus.length),
    total_memory: String(os.totalmem()),
    node_version: process.version,
    pid: String(process.pid),
  };
  const fromEnv = parseProcessProperties(env[PROCESS_PROPERTIES_ENV] ?? '');
  const explicit = options.properties ?? {};
  for (const key of Object.keys(explicit)) checkPropertyKey(key, 'explicit process property');
  const properties = new Map<string, string>();
  for (const layer of [defaults, fromEnv, explicit]) {
    for (const [key, value] of Object.entries(layer)) properties.set(key, String(value));
  }

  const start = dualTimeNow();
  return {
    processId,
    exe,
    username,
    realname,
    computer,
    distro,
    cpuBrand,
    tscFrequency: TSC_FREQUENCY,
    startTime: start.time,
    startTicks: BigInt(Math.round(start.ticks)),
    parentProcessId,
    properties,
  };
}

/** Parses `k=v,k2=v2` (entries and both sides trimmed, empty entries skipped). */
export function parseProcessProperties(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      throw new TelemetryConfigError(
        `${PROCESS_PROPERTIES_ENV}: expected key=value, got ${JSON.stringify(trimmed)}`,
      );
    }
    const key = trimmed.slice(0, eq).trim();
    checkPropertyKey(key, PROCESS_PROPERTIES_ENV);
    result[key] = trimmed.slice(eq + 1).trim();
  }
  return result;
}

function checkPropertyKey(key: string, origin: string): void {
  if (key === '') throw new TelemetryConfigError(`${origin}: empty property name`);
  // The server strips these; they are reserved for values it stamps itself (e.g. micromegas.audience).
  if (key.startsWith(RESERVED_PREFIX)) {
    throw new TelemetryConfigError(`${origin}: property ${JSON.stringify(key)} uses the reserved prefix "${RESERVED_PREFIX}"`);
  }
}

function parentFromEnv(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (!UUID_PATTERN.test(trimmed)) {
    process.stderr.write(`micromegas: ignoring ${PARENT_PROCESS_ENV}=${JSON.stringify(value)}: not a UUID\n`);
    return null;
  }
  return trimmed.toLowerCase();
}

function mainExecutable(): string {
  const script = process.argv[1];
  return script ? path.resolve(script) : process.execPath;
}

function currentUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry (e.g. an arbitrary uid in a container).
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

// The GECOS field of /etc/passwd holds the full name before its first comma.
function realnameOf(username: string): string {
  if (process.platform === 'win32') return username;
  try {
    const uid = os.userInfo().uid;
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 5 && fields[2] === String(uid)) {
        const full = (fields[4] ?? '').split(',')[0]?.trim();
        return full || username;
      }
    }
  } catch {
    // Fall through: no readable passwd database.
  }
  return username;
}

function distroName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME=(.*)$/m.exec(text);
    const value = match?.[1]?.trim().replace(/^["']|["']$/g, '');
    if (value) return value;
  } catch {
    // Not Linux, or no os-release.
  }
  return `${os.type()} ${os.release()}`;
}

// Node reports logical CPUs only; on Linux, distinct (physical id, core id) pairs count cores.
function physicalCoreCount(logical: number): number {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    for (const section of text.split(/\n\s*\n/)) {
      const physical = /^physical id\s*:\s*(\d+)/m.exec(section)?.[1];
      const core = /^core id\s*:\s*(\d+)/m.exec(section)?.[1];
      if (physical !== undefined && core !== undefined) cores.add(`${physical}:${core}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // Not Linux.
  }
  return logical;
}
