/**
 * Python source text for plain values, and the table of a spec's named hyper-parameters
 * (`HYPERPARAMETERS` in an exported module): every number of the spec gets a name from its place
 * (`step_eta`, `damping_initial`, `curvature_ema_decay`, …) and appears in the config as `h["name"]`.
 */

/** A reference to a named hyper-parameter. */
export class HyperRef {
  constructor(readonly name: string) {}
}

export type PyValue = null | boolean | number | string | HyperRef | readonly PyValue[] | { readonly [k: string]: PyValue };

/** A number as Python source: integers of int-typed arguments without a point, floats with one. */
export function pyNumber(v: number, kind: 'int' | 'float' = Number.isInteger(v) ? 'int' : 'float'): string {
  if (!Number.isFinite(v)) throw new Error(`pyNumber: ${v} is not finite`);
  if (kind === 'int') return String(Math.round(v));
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export function py(v: PyValue, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyNumber(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof HyperRef) return `h[${JSON.stringify(v.name)}]`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => `${pad}    ${py(x, indent + 4)},`).join('\n')}\n${pad}]`;
  }
  const entries = Object.entries(v as Record<string, PyValue>);
  if (entries.length === 0) return '{}';
  const simple = entries.every(([, x]) => x === null || typeof x !== 'object' || x instanceof HyperRef);
  if (simple && entries.length <= 3) return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${py(x, indent)}`).join(', ')}}`;
  return `{\n${entries.map(([k, x]) => `${pad}    ${JSON.stringify(k)}: ${py(x, indent + 4)},`).join('\n')}\n${pad}}`;
}

/** The named numbers of one spec, in the order met; a repeated name gets a numeric suffix. */
export class Hyper {
  private readonly values = new Map<string, { value: number; kind: 'int' | 'float' }>();

  add(name: string, value: number, kind: 'int' | 'float'): HyperRef {
    let key = name;
    for (let i = 2; this.values.has(key); i++) key = `${name}${i}`;
    this.values.set(key, { value, kind });
    return new HyperRef(key);
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  render(): string {
    if (this.values.size === 0) return '{}';
    return `{\n${[...this.values].map(([k, { value, kind }]) => `    ${JSON.stringify(k)}: ${pyNumber(value, kind)},`).join('\n')}\n}`;
  }
}
