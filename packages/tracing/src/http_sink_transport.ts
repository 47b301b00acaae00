// The HTTP side of the HTTP sink: one POST per request on a keep-alive agent whose sockets are
// unref'd (an idle or unfinished request never keeps the program alive), and the small FIFO the
// sink's priority queues are made of.
import http from 'node:http';
import https from 'node:https';
import { TelemetryConfigError } from './process_info.ts';

export type Route = 'insert_process' | 'insert_stream' | 'insert_block';
export type Outcome = { status: number } | { error: Error; timedOut: boolean };

export interface TransportOptions {
  url: string;
  apiKey?: string;
  maxSockets: number;
  requestTimeoutMs: number;
}

/** Joins the base URL and a route, tolerating a trailing slash on the base. */
export function ingestionUrl(base: string, route: Route): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TelemetryConfigError(`invalid telemetry URL ${JSON.stringify(base)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TelemetryConfigError(`telemetry URL must be http or https, got ${JSON.stringify(base)}`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ingestion/${route}`;
  return url;
}

export class IngestionTransport {
  private readonly urls: Record<Route, URL>;
  private readonly headers: Record<string, string>;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;
  private readonly activeRequests = new Set<http.ClientRequest>();

  constructor(options: TransportOptions) {
    this.urls = {
      insert_process: ingestionUrl(options.url, 'insert_process'),
      insert_stream: ingestionUrl(options.url, 'insert_stream'),
      insert_block: ingestionUrl(options.url, 'insert_block'),
    };
    this.headers = { 'Content-Type': 'application/octet-stream' };
    if (options.apiKey) this.headers.Authorization = `Bearer ${options.apiKey}`;
    this.requestTimeoutMs = options.requestTimeoutMs;
    const AgentClass = this.urls.insert_block.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: options.maxSockets });
  }

  /** Never rejects: the outcome is a status, or an error (network, or no answer in time). */
  post(route: Route, body: Uint8Array): Promise<Outcome> {
    return new Promise((resolve) => {
      let finished = false;
      const finish = (outcome: Outcome): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.activeRequests.delete(request);
        resolve(outcome);
      };
      const url = this.urls[route];
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.request(
        url,
        { method: 'POST', agent: this.agent, headers: { ...this.headers, 'Content-Length': String(body.length) } },
        (response) => {
          response.on('error', (error) => finish({ error, timedOut: false }));
          response.on('end', () => finish({ status: response.statusCode ?? 0 }));
          response.resume();
        },
      );
      const timer = setTimeout(() => {
        finish({ error: new Error(`no answer within ${this.requestTimeoutMs} ms`), timedOut: true });
        request.destroy();
      }, this.requestTimeoutMs);
      timer.unref();
      request.on('socket', (socket) => socket.unref());
      request.on('error', (error) => finish({ error, timedOut: false }));
      this.activeRequests.add(request);
      request.end(body);
    });
  }

  /** Aborts requests in flight and closes every socket. */
  close(): void {
    for (const request of this.activeRequests) request.destroy();
    this.activeRequests.clear();
    this.agent.destroy();
  }
}

/** A FIFO with O(1) push, shift and put-back-at-front. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  /** Puts an item back where `before` says it belongs (the queue is kept in that order). */
  putBack(item: T, before: (a: T, b: T) => boolean): void {
    let at = this.head;
    while (at < this.items.length && before(this.items[at]!, item)) at++;
    if (at === this.head) this.unshift(item);
    else this.items.splice(at, 0, item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}

