/**
 * A subset of Go's text/template, enough for the docker CLI's `--format` flags:
 * `{{.State.ExitCode}}`, `{{.Id}}`, `{{json .Config}}`, `{{index .Config.Labels "k"}}`,
 * `{{range .Mounts}}{{.Source}} {{end}}`, `{{if .State.Running}}…{{else}}…{{end}}`,
 * `{{with …}}`, variables (`$`, `$x := …`, `range $k, $v := …`), pipelines (`.Name | upper`),
 * trim markers (`{{-`, `-}}`) and the functions docker adds (json, split, join, title, lower,
 * upper, pad, truncate) plus Go's builtins (len, index, print, printf, println, eq, ne, lt, le,
 * gt, ge, and, or, not).
 *
 * Data is the daemon's JSON. Field lookup is exact first and then case-insensitive, so both
 * `{{.Id}}` (docker's raw-JSON fallback) and `{{.ID}}` (its typed structs) work. Values print
 * as Go's %v prints them: maps as `map[k:v]` with sorted keys, slices as `[a b]`, JSON null as
 * `<nil>`, a missing key as `<no value>`.
 */

export class TemplateError extends Error {
  /** For an error found while parsing: the line it is on, which Go's text names. */
  line: number | undefined;
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }

  /** Go's wording, "template: NAME:LINE: …" for a parse error (the CLI's --format templates have the name ""). */
  goMessage(name = ''): string {
    return this.line === undefined ? this.message : `template: ${name}:${this.line}: ${this.message}`;
  }
}

/**
 * An error while executing, at a field: Go's text says where (`template: NAME:LINE:COL:
 * executing "NAME" at <.Field>: …`), as the docker CLI prints it for a row of a list.
 */
export class TemplateExecError extends TemplateError {
  constructor(
    message: string,
    /** The field's offset in the template source and its text, once known. */
    public at?: { pos: number; node: string },
  ) {
    super(message);
  }

  override goMessage(name = ''): string {
    return this.at === undefined ? this.message : `template: ${name}:${this.where}: executing "${name}" at <${this.at.node}>: ${this.message}`;
  }

  /** LINE:COL as Go's ErrorContext counts them (the column is a 0-based byte offset in the line). */
  where = '';
}

/** Marker for "no such field" (Go prints <no value>). */
const NO_VALUE: unique symbol = Symbol('no value');
type Value = unknown;

// ---- lexing ------------------------------------------------------------------------------------

type Token =
  | { kind: 'field'; path: string[]; pos: number } // .A.B   (path [] is "."); pos: offset in the template
  | { kind: 'var'; name: string; path: string[] } // $x.A
  | { kind: 'ident'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'punct'; value: '(' | ')' | '|' | ':=' | '=' | ',' }
  | { kind: 'fieldOf'; path: string[] }; // ).A after a parenthesised expression

function lexAction(src: string, base = 0): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fieldChain = (): string[] => {
    const path: string[] = [];
    while (src[i] === '.') {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      if (!m) {
        if (path.length === 0) return path; // bare "."
        throw new TemplateError(`bad field syntax in "${src}"`);
      }
      path.push(m[0]);
      i += m[0].length;
    }
    return path;
  };
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '.') {
      if (/[0-9]/.test(src[i + 1] ?? '')) {
        const m = /^\.[0-9]+/.exec(src.slice(i));
        out.push({ kind: 'number', value: Number(m?.[0]) });
        i += m?.[0].length ?? 1;
      } else {
        // Go's position of a field: its own, or for a chain (.A.B) that of its second element.
        const first = base + i;
        const path = fieldChain();
        const pos = path.length > 1 ? first + 1 + (path[0] ?? '').length : first;
        out.push({ kind: 'field', path, pos });
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i));
      const name = m?.[0] ?? '$';
      i += name.length;
      out.push({ kind: 'var', name, path: fieldChain() });
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const n = src[j + 1];
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '0' ? '\0' : (n ?? '');
          j += 2;
        } else {
          s += src[j];
          j++;
        }
      }
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      out.push({ kind: 'string', value: s });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      out.push({ kind: 'string', value: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "'") {
      const m = /^'(\\.|[^\\'])'/.exec(src.slice(i));
      if (!m) throw new TemplateError('malformed character constant');
      const ch = m[1] ?? '';
      out.push({ kind: 'number', value: (ch.startsWith('\\') ? ch.slice(1) : ch).codePointAt(0) ?? 0 });
      i += m[0].length;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)/.exec(src.slice(i));
      if (!m || m[0] === '' || m[0] === '-' || m[0] === '+') throw new TemplateError(`bad number syntax: "${c}"`);
      out.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (c === '(' || c === ')' || c === '|' || c === ',' || c === '=') {
      out.push({ kind: 'punct', value: c });
      i++;
      if (c === ')' && src[i] === '.') out.push({ kind: 'fieldOf', path: fieldChain() });
    } else if (c === ':' && src[i + 1] === '=') {
      out.push({ kind: 'punct', value: ':=' });
      i += 2;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      const name = m?.[0] ?? c;
      i += name.length;
      if (name === 'true' || name === 'false') out.push({ kind: 'bool', value: name === 'true' });
      else if (name === 'nil') out.push({ kind: 'nil' });
      else out.push({ kind: 'ident', name });
    } else {
      throw new TemplateError(`unexpected "${c}" in command`);
    }
  }
  return out;
}

// ---- parsing -----------------------------------------------------------------------------------

type Operand =
  | { t: 'field'; path: string[]; pos: number }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'fn'; name: string }
  | { t: 'lit'; value: Value }
  | { t: 'sub'; pipe: Pipeline; path: string[] };
type Command = Operand[];
interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}
type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipeline }
  | { t: 'if' | 'with'; pipe: Pipeline; body: Node[]; alt: Node[] }
  | { t: 'range'; pipe: Pipeline; body: Node[]; alt: Node[] };

interface RawAction {
  kind: 'text' | 'action';
  text: string;
  /** The line the part starts on (1-based). */
  line: number;
  /** Where the action's text starts in the template. */
  offset: number;
}

const lineAt = (src: string, index: number): number => src.slice(0, index).split('\n').length;

function splitTemplate(src: string): RawAction[] {
  const parts: RawAction[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push({ kind: 'text', text: src.slice(i), line: lineAt(src, i), offset: i });
      break;
    }
    let text = src.slice(i, open);
    let inner = open + 2;
    if (src[inner] === '-' && /\s/.test(src[inner + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      inner += 2;
    }
    parts.push({ kind: 'text', text, line: lineAt(src, i), offset: i });
    const line = lineAt(src, open);
    const close = src.indexOf('}}', inner);
    if (close < 0) throw atLine(new TemplateError('unclosed action'), line);
    let body = src.slice(inner, close);
    i = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -2);
      const m = /^\s*/.exec(src.slice(i));
      i += m?.[0].length ?? 0;
    }
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) continue;
    parts.push({ kind: 'action', text: body, line, offset: inner });
  }
  return parts.filter((p) => p.kind === 'action' || p.text !== '');
}

function atLine(error: TemplateError, line: number): TemplateError {
  error.line ??= line;
  return error;
}

class Parser {
  private pos = 0;
  /** The line of the part being parsed, for errors. */
  line = 1;
  constructor(private readonly parts: RawAction[]) {}

  parseList(stops: string[]): { nodes: Node[]; stop: string; rest: Token[] } {
    const nodes: Node[] = [];
    while (this.pos < this.parts.length) {
      const p = this.parts[this.pos++] as RawAction;
      this.line = p.line;
      if (p.kind === 'text') {
        nodes.push({ t: 'text', text: p.text });
        continue;
      }
      const toks = lexAction(p.text, p.offset);
      const head = toks[0];
      const keyword = head && head.kind === 'ident' ? head.name : '';
      if (stops.includes(keyword)) return { nodes, stop: keyword, rest: toks.slice(1) };
      if (keyword === 'if' || keyword === 'with' || keyword === 'range') {
        nodes.push(this.parseControl(keyword, toks.slice(1)));
      } else if (keyword === 'end' || keyword === 'else') {
        throw new TemplateError(`unexpected {{${keyword}}}`);
      } else if (keyword === 'define' || keyword === 'template' || keyword === 'block') {
        throw new TemplateError(`{{${keyword}}} is not supported`);
      } else {
        nodes.push({ t: 'action', pipe: parsePipeline(toks) });
      }
    }
    if (stops.length > 0) throw new TemplateError('unexpected EOF');
    return { nodes, stop: '', rest: [] };
  }

  private parseControl(kind: 'if' | 'with' | 'range', toks: Token[]): Node {
    const pipe = parsePipeline(toks);
    const body = this.parseList(['else', 'end']);
    let alt: Node[] = [];
    if (body.stop === 'else') {
      const r0 = body.rest[0];
      if (r0 && r0.kind === 'ident' && (r0.name === 'if' || r0.name === 'with') && kind !== 'range') {
        // {{else if …}} chains: the nested control consumes the shared {{end}}.
        alt = [this.parseControl(r0.name, body.rest.slice(1))];
      } else {
        alt = this.parseList(['end']).nodes;
      }
    }
    return { t: kind, pipe, body: body.nodes, alt };
  }
}

function parsePipeline(toks: Token[]): Pipeline {
  const pipe: Pipeline = { decl: [], assign: false, cmds: [] };
  // Declarations: $x := …   or   $k, $v := …
  const declEnd = toks.findIndex((t) => t.kind === 'punct' && (t.value === ':=' || t.value === '='));
  if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.kind === 'var' || (t.kind === 'punct' && t.value === ','))) {
    pipe.decl = toks.slice(0, declEnd).flatMap((t) => (t.kind === 'var' ? [t.name] : []));
    pipe.assign = (toks[declEnd] as { value: string }).value === '=';
    toks = toks.slice(declEnd + 1);
  }
  let i = 0;
  const parseOperands = (endAtParen: boolean): Command[] => {
    const cmds: Command[] = [];
    let cmd: Command = [];
    while (i < toks.length) {
      const t = toks[i++] as Token;
      if (t.kind === 'punct') {
        if (t.value === '|') {
          if (cmd.length === 0) throw new TemplateError('missing command');
          cmds.push(cmd);
          cmd = [];
          continue;
        }
        if (t.value === '(') {
          const inner = parseOperands(true);
          let path: string[] = [];
          const nx = toks[i];
          if (nx && nx.kind === 'fieldOf') {
            path = nx.path;
            i++;
          }
          cmd.push({ t: 'sub', pipe: { decl: [], assign: false, cmds: inner }, path });
          continue;
        }
        if (t.value === ')') {
          if (!endAtParen) throw new TemplateError('unexpected right paren');
          if (cmd.length) cmds.push(cmd);
          return cmds;
        }
        throw new TemplateError(`unexpected "${t.value}" in command`);
      }
      switch (t.kind) {
        case 'field':
          cmd.push({ t: 'field', path: t.path, pos: t.pos });
          break;
        case 'var':
          cmd.push({ t: 'var', name: t.name, path: t.path });
          break;
        case 'ident':
          if (!(t.name in FUNCS)) throw new TemplateError(`function "${t.name}" not defined`);
          cmd.push({ t: 'fn', name: t.name });
          break;
        case 'string':
        case 'number':
        case 'bool':
          cmd.push({ t: 'lit', value: t.value });
          break;
        case 'nil':
          cmd.push({ t: 'lit', value: null });
          break;
        default:
          throw new TemplateError('unexpected token');
      }
    }
    if (endAtParen) throw new TemplateError('unclosed left paren');
    if (cmd.length) cmds.push(cmd);
    return cmds;
  };
  pipe.cmds = parseOperands(false);
  if (pipe.cmds.length === 0) throw new TemplateError('missing value for command');
  return pipe;
}

// ---- values ------------------------------------------------------------------------------------

function isObject(v: Value): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The data of an execution that stands for one of the docker CLI's typed contexts (a row of
 * `ps` is a *formatter.ContainerContext): a field it lacks is an error, as on a Go struct,
 * and so is a field of a string it gives. Everything else is JSON, where Go's maps answer a
 * missing key with <no value>.
 */
const structTypes = new WeakMap<object, string>();

function lookup(v: Value, key: string): Value {
  if (!isObject(v)) return NO_VALUE;
  if (Object.prototype.hasOwnProperty.call(v, key)) return v[key];
  // A Go struct's fields and methods are matched exactly; JSON also case-insensitively.
  const type = structTypes.get(v);
  if (type !== undefined) throw new TemplateExecError(`can't evaluate field ${key} in type ${type}`);
  const lower = key.toLowerCase();
  for (const k of Object.keys(v)) if (k.toLowerCase() === lower) return v[k];
  return NO_VALUE;
}

function walk(v: Value, path: readonly string[]): Value {
  let cur = v;
  let typed = false;
  for (const p of path) {
    if (typed && typeof cur === 'string') throw new TemplateExecError(`can't evaluate field ${p} in type string`);
    typed = isObject(cur) && structTypes.has(cur);
    cur = lookup(cur, p);
  }
  return cur;
}

function truthy(v: Value): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Go's fmt %v. */
export function formatValue(v: Value): string {
  if (v === NO_VALUE || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(formatNested).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${formatNested(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

function formatNested(v: Value): string {
  return v === null ? '<nil>' : formatValue(v);
}

/** Go's json.Marshal output for a decoded JSON value: compact, with <, >, & escaped. */
export function goJson(v: Value): string {
  const s = JSON.stringify(v === NO_VALUE || v === undefined ? null : v) ?? 'null';
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError('incompatible types for comparison');
}

function equal(a: Value, b: Value): boolean {
  if (a === NO_VALUE) a = null;
  if (b === NO_VALUE) b = null;
  return a === b || (typeof a === 'object' && JSON.stringify(a) === JSON.stringify(b));
}

function sprint(args: Value[], spaces: boolean): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && (spaces || (typeof a !== 'string' && typeof args[i - 1] !== 'string'))) out += ' ';
    out += formatValue(a);
  });
  return out;
}

function sprintf(fmt: string, args: Value[]): string {
  let ai = 0;
  return fmt.replace(/%([-+# 0]*)(\d*)(?:\.(\d+))?([vsdqtfx%])/g, (_m, flags: string, w: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? Math.trunc(a).toString() : `%!d(${formatValue(a)})`;
        break;
      case 'q':
        s = JSON.stringify(formatValue(a));
        break;
      case 'f':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${formatValue(a)})`;
        break;
      case 'x':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(formatValue(a)).toString('hex');
        break;
      default:
        s = formatValue(a);
    }
    const width = Number(w || 0);
    if (s.length < width) s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') ? '0' : ' ');
    return s;
  });
}

function toStr(v: Value): string {
  return typeof v === 'string' ? v : formatValue(v);
}

type Fn = (...args: Value[]) => Value;
const FUNCS: Record<string, Fn> = {
  json: (v) => goJson(v),
  upper: (s) => toStr(s).toUpperCase(),
  lower: (s) => toStr(s).toLowerCase(),
  title: (s) => toStr(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  split: (s, sep) => toStr(s).split(toStr(sep)),
  join: (arr, sep) => (Array.isArray(arr) ? arr.map(toStr).join(toStr(sep)) : toStr(arr)),
  pad: (s, l, r) => {
    const str = toStr(s);
    return str === '' ? str : ' '.repeat(Number(l) || 0) + str + ' '.repeat(Number(r) || 0);
  },
  truncate: (s, n) => {
    const str = toStr(s);
    const len = Number(n) || 0;
    return str.length < len ? str : str.slice(0, len);
  },
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new TemplateError(`len of ${formatValue(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur) && typeof k === 'number') {
        if (k < 0 || k >= cur.length) throw new TemplateError(`index out of range: ${k}`);
        cur = cur[k];
      } else if (isObject(cur)) {
        const key = toStr(k);
        cur = Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : NO_VALUE;
      } else if (cur === null || cur === NO_VALUE) {
        cur = NO_VALUE;
      } else {
        throw new TemplateError(`can't index item of type ${typeof cur}`);
      }
    }
    return cur;
  },
  print: (...a) => sprint(a, false),
  println: (...a) => `${sprint(a, true)}\n`,
  printf: (f, ...a) => sprintf(toStr(f), a),
  eq: (a, ...bs) => bs.some((b) => equal(a, b)),
  ne: (a, b) => !equal(a, b),
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  not: (a) => !truthy(a),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
};

// ---- execution ---------------------------------------------------------------------------------

type Scope = Map<string, Value>;

function evalOperand(op: Operand, dot: Value, scope: Scope): Value {
  switch (op.t) {
    case 'field':
      try {
        return walk(dot, op.path);
      } catch (err) {
        if (err instanceof TemplateExecError) err.at ??= { pos: op.pos, node: `.${op.path.join('.')}` };
        throw err;
      }
    case 'var': {
      if (!scope.has(op.name)) throw new TemplateError(`undefined variable: ${op.name}`);
      return walk(scope.get(op.name), op.path);
    }
    case 'lit':
      return op.value;
    case 'sub':
      return walk(evalPipeline(op.pipe, dot, scope), op.path);
    case 'fn':
      return callFn(op.name, []);
  }
}

function callFn(name: string, args: Value[]): Value {
  const fn = FUNCS[name];
  if (!fn) throw new TemplateError(`function "${name}" not defined`);
  return fn(...args);
}

function evalPipeline(pipe: Pipeline, dot: Value, scope: Scope): Value {
  let prev: Value = NO_VALUE;
  let first = true;
  for (const cmd of pipe.cmds) {
    const head = cmd[0] as Operand;
    const extra = first ? [] : [prev];
    if (head.t === 'fn') {
      const args = cmd.slice(1).map((o) => evalOperand(o, dot, scope));
      prev = callFn(head.name, [...args, ...extra]);
    } else {
      const value = evalOperand(head, dot, scope);
      if (typeof value === 'function') {
        // A method of a docker formatter context, e.g. {{.Label "com.example.key"}}.
        prev = (value as Fn)(...cmd.slice(1).map((o) => evalOperand(o, dot, scope)), ...extra);
      } else {
        if (cmd.length > 1 || extra.length > 0) throw new TemplateError(`can't give argument to non-function`);
        prev = value;
      }
    }
    first = false;
  }
  if (pipe.decl.length === 1 && pipe.decl[0] !== undefined) scope.set(pipe.decl[0], prev);
  return prev;
}

function execList(nodes: Node[], dot: Value, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipeline(n.pipe, dot, scope);
        if (n.pipe.decl.length === 0) out.push(formatValue(v));
        break;
      }
      case 'if': {
        const v = evalPipeline(n.pipe, dot, new Map(scope));
        execList(truthy(v) ? n.body : n.alt, dot, new Map(scope), out);
        break;
      }
      case 'with': {
        const inner = new Map(scope);
        const v = evalPipeline(n.pipe, dot, inner);
        if (truthy(v)) execList(n.body, v, inner, out);
        else execList(n.alt, dot, new Map(scope), out);
        break;
      }
      case 'range': {
        const decl = n.pipe.decl;
        const v = evalPipeline({ ...n.pipe, decl: [] }, dot, scope);
        const entries: Array<[Value, Value]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : isObject(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, v[k]])
            : typeof v === 'number'
              ? Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i])
              : [];
        if (entries.length === 0) {
          execList(n.alt, dot, new Map(scope), out);
          break;
        }
        for (const [k, x] of entries) {
          const inner = new Map(scope);
          if (decl.length === 1 && decl[0] !== undefined) inner.set(decl[0], x);
          if (decl.length >= 2 && decl[0] !== undefined && decl[1] !== undefined) {
            inner.set(decl[0], k);
            inner.set(decl[1], x);
          }
          execList(n.body, x, inner, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  /** `structType` (e.g. `*formatter.ContainerContext`) makes `data` behave as that Go struct. */
  execute(data: unknown, structType?: string): string;
}

/** Parses a template; throws TemplateError on syntax errors. */
export function parseTemplate(src: string): Template {
  const parser = new Parser(splitTemplate(src));
  let nodes: Node[];
  try {
    nodes = parser.parseList([]).nodes;
  } catch (e) {
    throw e instanceof TemplateError ? atLine(e, parser.line) : e;
  }
  return {
    execute(data: unknown, structType?: string): string {
      const out: string[] = [];
      if (structType !== undefined && isObject(data)) structTypes.set(data, structType);
      try {
        execList(nodes, data, new Map([['$', data]]), out);
      } catch (err) {
        if (err instanceof TemplateExecError && err.at) err.where = goPosition(src, err.at.pos);
        throw err;
      } finally {
        if (isObject(data)) structTypes.delete(data);
      }
      return out.join('');
    },
  };
}

/** Go's ErrorContext: LINE:COL, the column a 0-based byte offset within the line. */
function goPosition(src: string, pos: number): string {
  const before = Buffer.from(src.slice(0, pos), 'utf8');
  const lastNewline = before.lastIndexOf(0x0a);
  const line = 1 + before.filter((b) => b === 0x0a).length;
  return `${line}:${lastNewline < 0 ? before.length : before.length - lastNewline - 1}`;
}

/** Parses and executes in one go. */
export function renderTemplate(src: string, data: unknown): string {
  return parseTemplate(src).execute(data);
}
