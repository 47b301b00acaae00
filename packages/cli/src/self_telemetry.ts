// The services' own telemetry (the FlightSQL audit records, denial warnings and metrics, …) recorded
// with @micromegas/tracing and sent to an ingestion service: `serve` sends it to its own ingestion
// role by default, `flightsql` when MICROMEGAS_TELEMETRY_URL is set. Delivery is asynchronous and
// bounded (the HTTP sink drops what it cannot queue), so a query never waits on it; the ingestion
// role does not record telemetry per request, so ingesting these blocks produces no new ones.
import { parseApiKeys } from '@micromegas/ingestion';
import { startTelemetry, type TelemetryGuard } from '@micromegas/tracing';
import type { OptionSpec } from './command.ts';

/** Upstream's local test environment flushes every 5 s: audit records become queryable quickly. */
const DEFAULT_SERVICE_FLUSH_SECONDS = 5;

export const SELF_TELEMETRY_OPTIONS: Record<string, OptionSpec> = {
  'no-self-telemetry': { type: 'boolean', description: "don't record the service's own telemetry (query audit log, denial warnings and metrics)" },
};

export const SELF_TELEMETRY_ENVIRONMENT: Record<string, string> = {
  MICROMEGAS_TELEMETRY_URL: "ingestion URL for the service's own telemetry (serve: its own ingestion service by default)",
  MICROMEGAS_FLUSH_PERIOD: `seconds between flushes of the service's telemetry (default ${DEFAULT_SERVICE_FLUSH_SECONDS})`,
  MICROMEGAS_INGESTION_API_KEY: 'key sent with that telemetry (default: the first key of MICROMEGAS_API_KEYS)',
};

/**
 * Starts recording the service's telemetry, sent to MICROMEGAS_TELEMETRY_URL or else `defaultUrl`;
 * returns a function that delivers what is left and stops, or null when it stays off.
 */
export function startSelfTelemetry(role: string, values: Record<string, string | boolean | undefined>, defaultUrl?: string): (() => Promise<void>) | null {
  if (values['no-self-telemetry'] === true) return null;
  const env = process.env;
  const url = env.MICROMEGAS_TELEMETRY_URL?.trim() || defaultUrl;
  if (!url) return null;
  let apiKey = env.MICROMEGAS_INGESTION_API_KEY?.trim() || undefined;
  if (!apiKey && env.MICROMEGAS_API_KEYS) {
    try {
      apiKey = parseApiKeys(env.MICROMEGAS_API_KEYS)[0]?.key;
    } catch {
      // The services report a bad keyring themselves.
    }
  }
  const flushSeconds = Number(env.MICROMEGAS_FLUSH_PERIOD);
  const guard: TelemetryGuard = startTelemetry({
    url,
    apiKey,
    flushPeriodMs: (Number.isFinite(flushSeconds) && flushSeconds > 0 ? flushSeconds : DEFAULT_SERVICE_FLUSH_SECONDS) * 1000,
    exe: `micromegas-${role}`,
    // The CLI handles signals and shuts telemetry down itself.
    installExitHooks: false,
  });
  if (!guard.active) return null;
  console.error(`micromegas: ${role} telemetry sent to ${url}`);
  return () => guard.shutdown();
}
