// Static metadata of instrumentation points (log call sites, metrics, spans) and property sets.
// Each is created once, gets a process-unique id, and is written as a dependency of every block
// that refers to it. Events carry only the id.
import type { DepsWriter, Dependency } from './deps_writer.ts';
import { hi32, lo32, newDependencyId } from './ids.ts';
import { Level, Verbosity } from './levels.ts';
import { LogDep, MetricDep, ThreadDep } from './stream_layouts.ts';
import { internString, type StringEntry } from './strings.ts';
import { callerSite, targetOfFile } from './call_site.ts';
import { deferrableTemplate } from './deferred_log.ts';

abstract class Descriptor implements Dependency {
  readonly id = newDependencyId();
  readonly idLo = lo32(this.id);
  readonly idHi = hi32(this.id);
  seen = 0;
  emitted = 0;
  abstract emit(w: DepsWriter): void;
  /** Marks this descriptor emitted in `w`'s extraction; false if it already was. */
  protected first(w: DepsWriter): boolean {
    if (this.emitted === w.stamp) return false;
    this.emitted = w.stamp;
    return true;
  }
}

export interface SiteOptions {
  /** Defaults to the calling file's name without extension. */
  target?: string;
  /** Defaults to the calling file. */
  file?: string;
  /** Defaults to the calling line. */
  line?: number;
}

function site(options: SiteOptions | undefined): { target: StringEntry; file: StringEntry; line: number } {
  let file = options?.file;
  let line = options?.line;
  if (file === undefined || line === undefined) {
    const caller = callerSite();
    file ??= caller.file;
    line ??= caller.line;
  }
  return { target: internString(options?.target ?? targetOfFile(file)), file: internString(file), line: line >>> 0 };
}

/** A log call site: level, format string, target, file, line (LogMetadataRecord). */
export class LogDescriptor extends Descriptor {
  readonly fmt: StringEntry;
  readonly target: StringEntry;
  readonly file: StringEntry;
  readonly line: number;
  /** Its logs with arguments may be formatted when the block closes (see deferred_log.ts). */
  readonly deferrable: boolean;
  constructor(
    readonly level: Level,
    fmt: string,
    options?: SiteOptions,
  ) {
    super();
    this.fmt = internString(fmt);
    this.deferrable = deferrableTemplate(fmt);
    ({ target: this.target, file: this.file, line: this.line } = site(options));
  }
  emit(w: DepsWriter): void {
    if (!this.first(w)) return;
    w.staticString(this.fmt);
    w.staticString(this.target);
    w.staticString(this.file);
    w.record(LogDep.LogMetadataRecord, 48);
    w.id(this.idLo, this.idHi);
    w.id(this.fmt.idLo, this.fmt.idHi);
    w.id(this.target.idLo, this.target.idHi);
    w.id(this.file.idLo, this.file.idHi); // module_path: the JS module is its file
    w.id(this.file.idLo, this.file.idHi);
    w.u32(this.line);
    w.u32(this.level);
  }
}

/** A metric: name, unit, target, file, line, verbosity (MetricMetadataDependency). */
export class MetricDescriptor extends Descriptor {
  readonly name: StringEntry;
  readonly unit: StringEntry;
  readonly target: StringEntry;
  readonly file: StringEntry;
  readonly line: number;
  constructor(name: string, unit: string, options?: SiteOptions, readonly lod: Verbosity = Verbosity.Min) {
    super();
    this.name = internString(name);
    this.unit = internString(unit);
    ({ target: this.target, file: this.file, line: this.line } = site(options));
  }
  emit(w: DepsWriter): void {
    if (!this.first(w)) return;
    w.staticString(this.name);
    w.staticString(this.unit);
    w.staticString(this.target);
    w.staticString(this.file);
    w.record(MetricDep.MetricMetadata, 48);
    w.id(this.idLo, this.idHi);
    w.id(this.name.idLo, this.name.idHi);
    w.id(this.unit.idLo, this.unit.idHi);
    w.id(this.target.idLo, this.target.idHi);
    w.id(this.file.idLo, this.file.idHi);
    w.u32(this.line);
    w.u32(this.lod);
  }
}

/** A span with a static name (SpanRecord). */
export class SpanDescriptor extends Descriptor {
  readonly name: StringEntry;
  readonly target: StringEntry;
  readonly file: StringEntry;
  readonly line: number;
  constructor(name: string, options?: SiteOptions, readonly lod: Verbosity = Verbosity.Min) {
    super();
    this.name = internString(name);
    ({ target: this.target, file: this.file, line: this.line } = site(options));
  }
  emit(w: DepsWriter): void {
    if (!this.first(w)) return;
    w.staticString(this.name);
    w.staticString(this.target);
    w.staticString(this.file);
    w.record(ThreadDep.SpanRecord, 48);
    w.id(this.idLo, this.idHi);
    w.id(this.name.idLo, this.name.idHi);
    w.id(this.target.idLo, this.target.idHi);
    w.id(this.file.idLo, this.file.idHi);
    w.id(this.file.idLo, this.file.idHi);
    w.u32(this.line);
    w.u32(this.lod);
  }
}

/** Where spans with run-time names come from (SpanLocationRecord); the name travels with each event. */
export class SpanLocation extends Descriptor {
  readonly target: StringEntry;
  readonly file: StringEntry;
  readonly line: number;
  constructor(options?: SiteOptions, readonly lod: Verbosity = Verbosity.Min) {
    super();
    ({ target: this.target, file: this.file, line: this.line } = site(options));
  }
  emit(w: DepsWriter): void {
    if (!this.first(w)) return;
    w.staticString(this.target);
    w.staticString(this.file);
    w.record(ThreadDep.SpanLocationRecord, 40);
    w.id(this.idLo, this.idHi);
    w.id(this.target.idLo, this.target.idHi);
    w.id(this.file.idLo, this.file.idHi);
    w.id(this.file.idLo, this.file.idHi);
    w.u32(this.line);
    w.u32(this.lod);
  }
}

/** A set of name → value properties attached to tagged logs and metrics (PropertySetDependency). */
export class PropertySet extends Descriptor {
  readonly entries: ReadonlyArray<readonly [StringEntry, StringEntry]>;
  constructor(properties: Iterable<readonly [string, string]>) {
    super();
    const entries: [StringEntry, StringEntry][] = [];
    for (const [k, v] of properties) entries.push([internString(String(k)), internString(String(v))]);
    this.entries = entries;
  }
  emit(w: DepsWriter): void {
    if (!this.first(w)) return;
    for (const [k, v] of this.entries) {
      w.stringDependency(k);
      w.stringDependency(v);
    }
    const size = 12 + 32 * this.entries.length;
    w.ensure(5 + size);
    w.u8(LogDep.PropertySet); // same index in the log and metrics streams
    w.u32(size);
    w.id(this.idLo, this.idHi);
    w.u32(this.entries.length);
    for (const [k, v] of this.entries) {
      propertyString(w, k);
      propertyString(w, v);
    }
  }
}

// StaticStringRef layout: id u64, byte length u32, codec u8, 3 padding bytes.
function propertyString(w: DepsWriter, s: StringEntry): void {
  w.id(s.idLo, s.idHi);
  w.u32(s.utf8.length);
  w.u8(2);
  w.u8(0);
  w.u8(0);
  w.u8(0);
}

// Property sets are interned by content so repeated tags share one id.
const MAX_PROPERTY_SETS = 4096;
const propertySets = new Map<string, PropertySet>();

export function propertySetOf(properties: Record<string, string> | Map<string, string>): PropertySet {
  const entries: [string, string][] =
    properties instanceof Map ? [...properties] : Object.entries(properties).map(([k, v]) => [k, String(v)]);
  let key = '';
  for (const [k, v] of entries) key += `${k.length}:${k}${v.length}:${v}`;
  let set = propertySets.get(key);
  if (set === undefined) {
    if (propertySets.size >= MAX_PROPERTY_SETS) propertySets.clear();
    set = new PropertySet(entries);
    propertySets.set(key, set);
  }
  return set;
}

export const defaultSpanLocation = (() => {
  let location: SpanLocation | null = null;
  return () => (location ??= new SpanLocation({ target: 'js', file: '', line: 0 }));
})();
