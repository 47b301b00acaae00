// SQL/JSON path for jsonb_path_query / jsonb_path_query_first (reference analytics.md §2.2), with the
// grammar and selection rules of the jsonb crate upstream uses (jsonpath/{parser,selector}.rs):
//   $ | @ | .key | ."key" | :key | ["key"] | .* | .** | .**{n} | .**{n to m|last} | [*]
//   [i, j, last, last - k, i to j] | ? (filter)   with filters built of
//   <operand> (== | != | <> | < | <= | > | >= | starts with) <operand>, &&, ||, ( ), exists(path)
// and root predicates/arithmetic such as `$.a > 1` or `$.a + 5`. Rules kept from the crate: a field step
// on a non-object selects nothing, [*] on a non-array selects the item itself (lax), a filter applies
// to each current item as a whole (write `$.a[*] ? (…)` to filter elements), comparing against an
// array compares with each element, containers never compare (the predicate is then unknown, i.e.
// false), and values of different types are only ever "!=". Number literals may be any JSON number.

export class JsonPathError extends Error {}

type Index = { last: boolean; offset: number };
type ArrayIndex = { from: Index; to?: Index };
type Level = { start: number; end?: number | 'last' };
type Step =
  | { k: 'root' | 'current' | 'wild' | 'arrayWild' }
  | { k: 'field'; name: string }
  | { k: 'indices'; list: ArrayIndex[] }
  | { k: 'recursive'; level?: Level }
  | { k: 'filter'; expr: Expr };
type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'starts with';
type ArithOp = '+' | '-' | '*' | '/' | '%';
type Expr =
  | { k: 'paths'; steps: Step[] }
  | { k: 'value'; v: unknown }
  | { k: 'and' | 'or'; l: Expr; r: Expr }
  | { k: 'compare'; op: CompareOp; l: Expr; r: Expr }
  | { k: 'arith'; op: ArithOp; l: Expr; r: Expr }
  | { k: 'neg' | 'plus'; operand: Expr }
  | { k: 'exists'; steps: Step[] };
export type JsonPath = { k: 'steps'; steps: Step[] } | { k: 'expr'; expr: Expr };

const STOP = new Set(' ,.:{}[]()?@$|<>!=+-*/%"\''.split(''));

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}
  fail(): never {
    throw new JsonPathError('InvalidJsonPath');
  }
  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  eat(token: string, caseInsensitive = false): boolean {
    const part = this.s.slice(this.pos, this.pos + token.length);
    if (caseInsensitive ? part.toLowerCase() !== token : part !== token) return false;
    this.pos += token.length;
    return true;
  }
  expect(token: string): void {
    if (!this.eat(token)) this.fail();
  }
  /** Tries a sub-parser; on failure the position is restored. */
  attempt<T>(fn: () => T): T | undefined {
    const at = this.pos;
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof JsonPathError)) throw err;
      this.pos = at;
      return undefined;
    }
  }
  quoted(): string {
    const m = /^"((?:[^"\\]|\\.)+)"/.exec(this.s.slice(this.pos));
    if (!m) this.fail();
    this.pos += m[0].length;
    try {
      return JSON.parse(m[0]) as string;
    } catch {
      return this.fail();
    }
  }
  raw(): string {
    const start = this.pos;
    let out = '';
    while (this.pos < this.s.length && !STOP.has(this.s[this.pos]!)) {
      if (this.s[this.pos] === '\\') {
        const m = /^\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)/.exec(this.s.slice(this.pos));
        if (!m) this.fail();
        const e = m[1]!;
        out += e.startsWith('u{') ? String.fromCodePoint(parseInt(e.slice(2, -1), 16)) : e.startsWith('u') && e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (JSON.parse(`"\\${e}"`) as string);
        this.pos += m[0].length;
      } else out += this.s[this.pos++];
    }
    if (this.pos === start) this.fail();
    return out;
  }
  int(): number {
    const m = /^[-+]?\d+/.exec(this.s.slice(this.pos));
    if (!m) this.fail();
    this.pos += m[0].length;
    return Number(m[0]);
  }
  index(): Index {
    if (this.eat('last', true)) {
      const at = this.pos;
      this.ws();
      if (this.eat('-')) return this.ws(), { last: true, offset: -this.int() };
      if (this.eat('+')) return this.ws(), { last: true, offset: this.int() };
      this.pos = at;
      return { last: true, offset: 0 };
    }
    return { last: false, offset: this.int() };
  }
  arrayIndex(): ArrayIndex {
    const from = this.index();
    const to = this.attempt(() => {
      this.ws();
      if (!this.eat('to', true)) this.fail();
      this.ws();
      return this.index();
    });
    return to ? { from, to } : { from };
  }
  level(): Level {
    this.expect('{');
    this.ws();
    const start = this.int();
    this.ws();
    let end: number | 'last' | undefined;
    if (this.eat('to', true)) {
      this.ws();
      end = this.eat('last', true) ? 'last' : this.int();
      this.ws();
    }
    this.expect('}');
    return end === undefined ? { start } : { start, end };
  }
  innerStep(): Step {
    if (this.eat('.**')) return { k: 'recursive', level: this.s[this.pos] === '{' ? this.level() : undefined };
    if (this.eat('.*')) return { k: 'wild' };
    const wild = this.attempt(() => {
      this.expect('[');
      this.ws();
      this.expect('*');
      this.ws();
      this.expect(']');
      return { k: 'arrayWild' } as const;
    });
    if (wild) return wild;
    if (this.eat(':') || this.eat('.')) return { k: 'field', name: this.s[this.pos] === '"' ? this.quoted() : this.raw() };
    if (!this.eat('[')) this.fail();
    this.ws();
    if (this.s[this.pos] === '"') {
      const name = this.quoted();
      this.ws();
      this.expect(']');
      return { k: 'field', name };
    }
    const list: ArrayIndex[] = [];
    do {
      this.ws();
      list.push(this.arrayIndex());
      this.ws();
    } while (this.eat(','));
    this.expect(']');
    return { k: 'indices', list };
  }
  innerSteps(into: Step[]): void {
    for (;;) {
      const step = this.attempt(() => {
        this.ws();
        const st = this.innerStep();
        this.ws();
        return st;
      });
      if (!step) return;
      into.push(step);
    }
  }
  filter(): Expr {
    this.expect('?');
    this.ws();
    this.expect('(');
    this.ws();
    const e = this.or(false);
    this.ws();
    this.expect(')');
    return e;
  }
  /** Steps after $ / @ / a leading bare key, filters included. */
  steps(into: Step[]): Step[] {
    for (;;) {
      const step = this.attempt(() => {
        this.ws();
        const st: Step = this.s[this.pos] === '?' ? { k: 'filter', expr: this.filter() } : this.innerStep();
        this.ws();
        return st;
      });
      if (!step) return into;
      into.push(step);
    }
  }
  operand(root: boolean): Expr {
    if (this.eat('$') || (!root && this.eat('@'))) {
      const steps: Step[] = [{ k: this.s[this.pos - 1] === '$' ? 'root' : 'current' }];
      this.innerSteps(steps);
      return { k: 'paths', steps };
    }
    if (this.eat('null')) return { k: 'value', v: null };
    if (this.eat('true')) return { k: 'value', v: true };
    if (this.eat('false')) return { k: 'value', v: false };
    const num = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(this.s.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return { k: 'value', v: Number(num[0]) };
    }
    return { k: 'value', v: this.quoted() };
  }
  atom(root: boolean): Expr {
    const unary = this.attempt(() => {
      const sign = this.eat('+') ? 'plus' : this.eat('-') ? 'neg' : this.fail();
      this.ws();
      const operand = this.operand(root);
      this.ws();
      return { k: sign, operand } as Expr;
    });
    if (unary) return unary;
    const binary = this.attempt((): Expr => {
      this.ws();
      const l = this.operand(root);
      this.ws();
      const op = (['==', '!=', '<>', '<=', '<', '>=', '>', 'starts with', '+', '-', '*', '/', '%'] as const).find((o) => this.eat(o));
      if (!op) this.fail();
      this.ws();
      const r = this.operand(root);
      this.ws();
      if (['+', '-', '*', '/', '%'].includes(op)) return { k: 'arith', op: op as ArithOp, l, r };
      return { k: 'compare', op: op === '<>' ? '!=' : (op as CompareOp), l, r };
    });
    if (binary) return binary;
    if (this.eat('(')) {
      this.ws();
      const e = this.or(root);
      this.ws();
      this.expect(')');
      return e;
    }
    this.expect('exists');
    this.ws();
    this.expect('(');
    this.ws();
    const steps: Step[] = [];
    if (this.eat('$')) steps.push({ k: 'root' });
    else if (this.eat('@')) steps.push({ k: 'current' });
    else this.fail();
    this.steps(steps);
    this.ws();
    this.expect(')');
    return { k: 'exists', steps };
  }
  chain(root: boolean, token: '&&' | '||', next: () => Expr): Expr {
    let e = next();
    for (;;) {
      const r = this.attempt(() => {
        this.ws();
        this.expect(token);
        this.ws();
        return next();
      });
      if (!r) return e;
      e = { k: token === '&&' ? 'and' : 'or', l: e, r };
    }
  }
  or(root: boolean): Expr {
    return this.chain(root, '||', () => this.chain(root, '&&', () => this.atom(root)));
  }
  end(): boolean {
    this.ws();
    return this.pos === this.s.length;
  }
}

export function parseJsonPath(text: string): JsonPath {
  const expr = new Parser(text);
  expr.ws();
  const e = expr.attempt(() => expr.or(true));
  if (e && expr.end()) return { k: 'expr', expr: e };
  const p = new Parser(text);
  p.ws();
  const steps: Step[] = [];
  if (p.eat('$')) steps.push({ k: 'root' });
  else {
    const key = p.attempt(() => p.raw());
    if (key !== undefined) steps.push({ k: 'field', name: key });
  }
  p.steps(steps);
  if (!p.end()) p.fail();
  return { k: 'steps', steps };
}

// Evaluation --------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';

function arrayIndices(len: number, ai: ArrayIndex): number[] {
  const at = (i: Index) => (i.last ? len + i.offset - 1 : i.offset);
  if (!ai.to) {
    const i = at(ai.from);
    return i >= 0 && i < len ? [i] : [];
  }
  const out: number[] = [];
  for (let i = Math.max(0, at(ai.from)); i <= Math.min(len - 1, at(ai.to)); i++) out.push(i);
  return out;
}

function recurse(v: unknown, level: number, spec: Level | undefined, out: unknown[]): void {
  let match = true;
  let go = true;
  if (spec) {
    if (spec.end === undefined) [match, go] = level < spec.start ? [false, true] : level === spec.start ? [true, false] : [false, false];
    else if (spec.end === 'last') [match, go] = [level >= spec.start, true];
    else [match, go] = level < spec.start && spec.start <= spec.end ? [false, true] : level >= spec.start && level <= spec.end ? [true, true] : [false, false];
  }
  if (match) out.push(v);
  if (!go) return;
  if (isObject(v)) for (const x of Object.values(v)) recurse(x, level + 1, spec, out);
  if (Array.isArray(v)) for (const x of v) recurse(x, level + 1, spec, out);
}

function select(root: unknown, start: unknown[], steps: readonly Step[]): unknown[] {
  let items = start;
  for (const step of steps) {
    if (step.k === 'root' || step.k === 'current') continue;
    const next: unknown[] = [];
    for (const item of items) {
      switch (step.k) {
        case 'wild':
          if (isObject(item)) next.push(...Object.values(item));
          break;
        case 'arrayWild':
          if (Array.isArray(item)) next.push(...item);
          else next.push(item);
          break;
        case 'field':
          if (isObject(item) && Object.hasOwn(item, step.name)) next.push(item[step.name]);
          break;
        case 'indices':
          if (Array.isArray(item)) for (const ai of step.list) for (const i of arrayIndices(item.length, ai)) next.push(item[i]);
          break;
        case 'recursive':
          recurse(item, 0, step.level, next);
          break;
        case 'filter':
          if (filter(root, item, step.expr) === true) next.push(item);
          break;
      }
    }
    items = next;
  }
  return items;
}

const CONTAINER = Symbol('container');

/** Operand values: literals as is, path results with arrays spread one level, containers marked. */
function operandValues(root: unknown, current: unknown, e: Expr): unknown[] {
  if (e.k === 'value') return [e.v];
  if (e.k !== 'paths') throw new JsonPathError('InvalidJsonPath');
  const start = e.steps[0]?.k === 'current' ? current : root;
  const out: unknown[] = [];
  for (const v of select(root, [start], e.steps)) {
    if (Array.isArray(v)) for (const x of v) out.push(typeof x === 'object' && x !== null ? CONTAINER : x);
    else out.push(typeof v === 'object' && v !== null ? CONTAINER : v);
  }
  return out;
}

function compareValues(op: CompareOp, l: unknown, r: unknown): boolean | undefined {
  if (l === CONTAINER || r === CONTAINER) return undefined;
  if (op === 'starts with') return typeof l === 'string' && typeof r === 'string' ? l.startsWith(r) : undefined;
  let order: number | undefined;
  if (l === null && r === null) order = 0;
  else if (typeof l === 'boolean' && typeof r === 'boolean') order = Number(l) - Number(r);
  else if (isNumber(l) && isNumber(r)) order = l < r ? -1 : l > r ? 1 : l == r ? 0 : undefined; // NaN: unordered
  else if (typeof l === 'string' && typeof r === 'string') order = l < r ? -1 : l > r ? 1 : 0;
  if (order === undefined) return op === '!=' ? true : undefined;
  return { '==': order === 0, '!=': order !== 0, '<': order < 0, '<=': order <= 0, '>': order > 0, '>=': order >= 0 }[op];
}

/** true / false, or undefined when the predicate is unknown (incomparable operands). */
function filter(root: unknown, item: unknown, e: Expr): boolean | undefined {
  switch (e.k) {
    case 'and':
    case 'or': {
      const l = filter(root, item, e.l);
      const r = filter(root, item, e.r);
      if (l === undefined || r === undefined) return undefined;
      return e.k === 'and' ? l && r : l || r;
    }
    case 'compare': {
      const ls = operandValues(root, item, e.l);
      const rs = operandValues(root, item, e.r);
      for (const l of ls) {
        for (const r of rs) {
          const res = compareValues(e.op, l, r);
          if (res === undefined) return undefined;
          if (res) return true;
        }
      }
      return false;
    }
    case 'exists':
      return select(root, [e.steps[0]?.k === 'current' ? item : root], e.steps).length > 0;
    default:
      return undefined;
  }
}

function arithmetic(root: unknown, e: Expr): unknown[] {
  const numbers = (x: Expr) => {
    const vs = operandValues(root, root, x);
    if (!vs.every(isNumber)) throw new JsonPathError('InvalidJsonPath');
    return vs.map(Number);
  };
  if (e.k === 'neg' || e.k === 'plus') return numbers(e.operand).map((n) => (e.k === 'neg' ? -n : n));
  if (e.k !== 'arith') return [];
  const [l] = numbers(e.l);
  const [r] = numbers(e.r);
  if (l === undefined || r === undefined || numbers(e.l).length !== 1 || numbers(e.r).length !== 1) throw new JsonPathError('InvalidJsonPath');
  return [{ '+': l + r, '-': l - r, '*': l * r, '/': l / r, '%': l % r }[e.op]];
}

/** Every value the path selects in `root`, in document order. */
export function evalJsonPath(path: JsonPath, root: unknown): unknown[] {
  if (path.k === 'steps') {
    if (path.steps[0]?.k === 'current') throw new JsonPathError('InvalidJsonPath');
    return select(root, [root], path.steps);
  }
  const e = path.expr;
  switch (e.k) {
    case 'value':
      return [e.v];
    case 'paths':
      throw new JsonPathError('InvalidJsonPath');
    case 'arith':
    case 'neg':
    case 'plus':
      return arithmetic(root, e);
    default:
      return [filter(root, root, e) ?? null];
  }
}
