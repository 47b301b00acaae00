// A tiny declarative layer over node:util parseArgs, so every command has the same --help shape.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in --help; the default itself is applied by the command. */
  defaultText?: string;
  valueName?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  description?: string;
  options: Record<string, OptionSpec>;
  environment?: Record<string, string>;
  /** Usage text of the positional arguments (e.g. '<sql>'); without it, none are accepted. */
  positionals?: string;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** A command's module: everything but the name and summary, which the registry (commands/index.ts) holds. */
export type CommandBody = Omit<CommandSpec, 'name' | 'summary'>;

/** One-line user errors: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function renderHelp(cmd: CommandSpec): string {
  const lines = [`Usage: micromegas ${cmd.name} [options]${cmd.positionals ? ` ${cmd.positionals}` : ''}`, '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description);
  lines.push('', 'Options:');
  const entries = Object.entries({
    ...cmd.options,
    help: { type: 'boolean', short: 'h', description: 'show this help' } as OptionSpec,
  });
  for (const [name, o] of entries) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}`;
    lines.push(`  ${flag.padEnd(32)} ${o.description}${o.defaultText ? ` (default: ${o.defaultText})` : ''}`);
  }
  if (cmd.environment) {
    lines.push('', 'Environment:');
    for (const [name, text] of Object.entries(cmd.environment)) lines.push(`  ${name.padEnd(34)} ${text}`);
  }
  return lines.join('\n');
}

export async function runCommand(cmd: CommandSpec, argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.entries(cmd.options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }])),
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: cmd.positionals !== undefined,
      strict: true,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (see: micromegas ${cmd.name} --help)`);
  }
  if (values.help) {
    process.stdout.write(`${renderHelp(cmd)}\n`);
    return 0;
  }
  return cmd.run(values, positionals);
}

export function parseListen(text: string, what = '--listen'): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${what}: expected [host:]port, e.g. 127.0.0.1:9000, got ${JSON.stringify(text)}`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

export function parsePositiveNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${what}: expected a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** Resolves when the process receives SIGINT or SIGTERM. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
