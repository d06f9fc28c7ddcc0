/**
 * The reference part of docs/language.md, generated from the registry so the manual cannot drift
 * from what the checker accepts. The hand-written parts of the manual live around the markers.
 */
import { clauses, components, describeType, formatNumber, kindTitle, valueArgs, type ArgSpec, type ComponentSpec, type Kind } from './registry.js';

export const beginMarker = '<!-- BEGIN GENERATED REFERENCE (npm test checks it; GEODESIC_UPDATE_GOLDEN=1 npx vitest run test/language regenerates) -->';
export const endMarker = '<!-- END GENERATED REFERENCE -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function defaultText(a: ArgSpec): string {
  if (a.default === undefined) return 'required';
  if (typeof a.default === 'number') {
    if (a.type.kind === 'number' && a.type.keywords !== undefined) {
      const kw = Object.entries(a.type.keywords).find(([, v]) => v === a.default);
      if (kw !== undefined) return `\`${kw[0]}\``;
    }
    return `\`${formatNumber(a.default)}\``;
  }
  return typeof a.default === 'string' ? `\`"${a.default}"\`` : `\`${String(a.default)}\``;
}

function signature(c: ComponentSpec): string {
  const args = c.args.map((a) => (a.type.kind === 'curvature' ? 'C' : a.name));
  return args.length === 0 ? c.name : `${c.name}(${args.join(', ')})`;
}

/** One component's reference in Markdown (the manual's section, also the editors' hover text). */
export const componentMarkdown = (c: ComponentSpec): string => componentSection(c).join('\n').trim();

function componentSection(c: ComponentSpec): string[] {
  const lines = [`#### \`${signature(c)}\``, '', `${c.doc}.`, '', `- meaning: ${c.math}`];
  if (c.reference !== '') lines.push(`- reference: ${c.reference}`);
  const args = valueArgs(c);
  if (args.length > 0) {
    lines.push('', '| argument | type and range | default | meaning |', '|---|---|---|---|');
    for (const a of args) lines.push(`| \`${a.name}\` | ${cell(describeType(a.type))} | ${defaultText(a)} | ${cell(a.doc)} |`);
  }
  lines.push('');
  return lines;
}

const kindOrder: readonly Kind[] = ['atom', 'structure', 'transform', 'cadence', 'damping', 'solver', 'step', 'momentum', 'averaging', 'gradient', 'nonfinite', 'schedule'];

export function generateReference(): string {
  const lines: string[] = [beginMarker, '', '### Clauses', '', '| clause | accepts | default | meaning |', '|---|---|---|---|'];
  for (const c of clauses) {
    lines.push(`| \`${c.name}\` | ${c.kinds.map((k) => kindTitle[k]).join(', ')}${c.chain ? ' (a `\\|>` chain)' : ''} | \`${cell(c.defaultText)}\` | ${cell(c.doc)} |`);
  }
  lines.push('');
  for (const kind of kindOrder) {
    const title = kindTitle[kind];
    lines.push(`### ${title[0]!.toUpperCase()}${title.slice(1)}s`, '');
    for (const c of components.filter((x) => x.kind === kind)) lines.push(...componentSection(c));
  }
  lines.push(endMarker);
  return lines.join('\n');
}

/** Replace the generated section of a manual (between the markers) with the current reference. */
export function updateManual(manual: string): string {
  const start = manual.indexOf(beginMarker);
  const end = manual.indexOf(endMarker);
  if (start < 0 || end < start) return `${manual.trimEnd()}\n\n${generateReference()}\n`;
  return manual.slice(0, start) + generateReference() + manual.slice(end + endMarker.length);
}
