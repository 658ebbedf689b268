/**
 * The dynamic rules of an app in a segment tree, so matching a path costs about its number of
 * segments instead of one regex per rule. The tree only narrows the candidates: the winner is still
 * the first rule in registration order that matches and takes the request, exactly as the linear
 * scan it replaces (docs/routing.md).
 */
import { convertParam, type ParamKind, type Rule } from './rule.js';

/** What the caller says of a candidate: `true` takes it, `false` matched but declined (wrong method), `undefined` not visible. */
export type Accept<T> = (item: T) => boolean | undefined;

/** The winner of {@link RuleTree.find}, or `seen` when some visible rule matched but none took the request. */
export interface Found<T> {
  item: T | undefined;
  params: Record<string, string | number>;
  seen: boolean;
}

interface Entry<T> {
  readonly item: T;
  readonly index: number;
  readonly rule: Rule;
  /** False when the rule is checked by its own regex (a parameter mixed with text, or `<path:>` before the end). */
  readonly simple: boolean;
}

class Node<T> {
  statics: Map<string, Node<T>> | undefined;
  str: Node<T> | undefined;
  int: Node<T> | undefined;
  float: Node<T> | undefined;
  /** Rules that end after this node's segment. */
  end: Entry<T>[] = [];
  /** Rules whose last segment is `<path:name>`: they take the rest of the path, if not empty. */
  rest: Entry<T>[] = [];
  /** Rules checked by their regex once the path's leading segments led here. */
  complex: Entry<T>[] = [];
  /** The lowest registration index below this node, to skip branches that cannot win. */
  min = Infinity;
}

const INT = /^-?\d+$/;
const FLOAT = /^-?\d+(?:\.\d+)?$/;
// `.` as the rule regex's `(.+)` reads it: no line terminators.
const REST = /^.+$/;
const ONE_PARAM = /^<(?:(string|int|float|path):)?[A-Za-z_$][\w$]*>$/;

interface Walk<T> {
  path: string;
  accept: Accept<T>;
  values: string[];
  best: Entry<T> | undefined;
  params: Record<string, string | number>;
  seen: boolean;
}

const NONE: Record<string, string | number> = Object.freeze({}) as Record<string, string | number>;

/** Dynamic rules (at least one parameter) of one app. */
export class RuleTree<T> {
  readonly #root = new Node<T>();
  #count = 0;

  /** Add a rule; later rules lose to earlier ones that match the same path. */
  add(rule: Rule, item: T): void {
    const index = this.#count++;
    const segments = rule.source.slice(1).split('/');
    let node = this.#root;
    node.min = Math.min(node.min, index);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const last = i === segments.length - 1;
      if (!seg.includes('<')) {
        node.statics ??= new Map();
        let next = node.statics.get(seg);
        if (!next) node.statics.set(seg, (next = new Node()));
        node = next;
      } else {
        const m = ONE_PARAM.exec(seg);
        const kind = (m?.[1] ?? 'string') as ParamKind;
        if (!m || (kind === 'path' && !last)) {
          node.complex.push({ item, index, rule, simple: false });
          return;
        }
        if (kind === 'path') {
          node.rest.push({ item, index, rule, simple: true });
          return;
        }
        node = node[kind === 'string' ? 'str' : kind] ??= new Node();
      }
      node.min = Math.min(node.min, index);
    }
    node.end.push({ item, index, rule, simple: true });
  }

  /** The first rule, in registration order, that matches `path` and that `accept` takes. */
  find(path: string, accept: Accept<T>): Found<T> {
    const w: Walk<T> = { path, accept, values: [], best: undefined, params: NONE, seen: false };
    if (path.charCodeAt(0) === 47) this.#visit(this.#root, 1, w);
    return { item: w.best?.item, params: w.params, seen: w.seen };
  }

  #visit(node: Node<T>, pos: number, w: Walk<T>): void {
    const path = w.path;
    if (node.complex.length > 0) this.#consider(node.complex, w);
    if (node.rest.length > 0 && pos < path.length) {
      const rest = path.slice(pos);
      if (REST.test(rest)) {
        w.values.push(rest);
        this.#consider(node.rest, w);
        w.values.pop();
      }
    }
    const end = path.indexOf('/', pos);
    const seg = end < 0 ? path.slice(pos) : path.slice(pos, end);
    const next = end + 1;
    const stat = node.statics?.get(seg);
    if (stat) this.#step(stat, next, w);
    if (seg.length === 0) return;
    if (node.str) this.#param(node.str, seg, next, w);
    if (node.int && INT.test(seg)) this.#param(node.int, seg, next, w);
    if (node.float && FLOAT.test(seg)) this.#param(node.float, seg, next, w);
  }

  #param(node: Node<T>, seg: string, next: number, w: Walk<T>): void {
    w.values.push(seg);
    this.#step(node, next, w);
    w.values.pop();
  }

  /** Go on below `node`; `next` is 0 when the path's last segment led to it. */
  #step(node: Node<T>, next: number, w: Walk<T>): void {
    if (w.best !== undefined && node.min >= w.best.index) return;
    if (next === 0) {
      if (node.end.length > 0) this.#consider(node.end, w);
    } else this.#visit(node, next, w);
  }

  #consider(entries: Entry<T>[], w: Walk<T>): void {
    // The simple entries of one list share their parameter kinds, so the values convert once.
    let converted: (string | number)[] | undefined | null;
    for (const e of entries) {
      if (w.best !== undefined && e.index >= w.best.index) return;
      let params: Record<string, string | number> | undefined;
      if (!e.simple) {
        params = e.rule.match(w.path);
        if (!params) continue;
      } else {
        if (converted === undefined) converted = convert(e.rule.kinds, w.values);
        if (converted === null) return;
      }
      const taken = w.accept(e.item);
      if (taken === undefined) continue;
      w.seen = true;
      if (!taken) continue;
      if (!params) {
        params = {};
        const names = e.rule.names;
        for (let i = 0; i < names.length; i++) params[names[i]!] = converted![i]!;
      }
      w.best = e;
      w.params = params;
      return;
    }
  }
}

function convert(kinds: readonly ParamKind[], values: readonly string[]): (string | number)[] | null {
  const out: (string | number)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = convertParam(kinds[i]!, values[i]!);
    if (v === undefined) return null;
    out[i] = v;
  }
  return out;
}
