/**
 * `.optim` highlighting for CodeMirror: a stream tokenizer over the same lexical classes as
 * grammar/optim.ohm (keywords, names, numbers, strings, comments, operators), with names told
 * apart by the registry — clause names, component names and argument names.
 */
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StreamParser } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';
import { clauses, components } from '../../src/language/registry.js';

const KEYWORDS = new Set(['optimizer', 'import', 'extends']);
const BOOLEANS = new Set(['true', 'false']);
const CLAUSES = new Set(clauses.map((c) => c.name));
const COMPONENTS = new Set(components.map((c) => c.name));

const parser: StreamParser<{ afterOptimizer: boolean }> = {
  name: 'optim',
  startState: () => ({ afterOptimizer: false }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match('#')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\\n]|\\["\\])*"?/)) return 'string';
    if (stream.match(/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/)) return 'number';
    if (stream.match('|>')) return 'operator';
    if (stream.match(/^[+*^=]/)) return 'operator';
    const word = stream.match(/^[A-Za-z_]\w*/) as RegExpMatchArray | null;
    if (word) {
      const w = word[0];
      if (KEYWORDS.has(w)) {
        state.afterOptimizer = w === 'optimizer' || w === 'extends';
        return 'keyword';
      }
      if (state.afterOptimizer) {
        state.afterOptimizer = false;
        return 'typeName';
      }
      if (BOOLEANS.has(w)) return 'bool';
      if (/^\s*:/.test(stream.string.slice(stream.pos))) return 'attributeName';
      if (CLAUSES.has(w) && /^\s*=/.test(stream.string.slice(stream.pos))) return 'propertyName';
      if (COMPONENTS.has(w)) return 'variableName.function';
      return 'variableName';
    }
    stream.next();
    return 'punctuation';
  },
  languageData: { commentTokens: { line: '#' } },
};

export const optimLanguage = StreamLanguage.define(parser);

const style = HighlightStyle.define([
  { tag: t.keyword, color: '#7c3aed', fontWeight: 'bold' },
  { tag: t.comment, color: '#6b7280', fontStyle: 'italic' },
  { tag: t.string, color: '#047857' },
  { tag: t.number, color: '#b45309' },
  { tag: t.bool, color: '#b45309' },
  { tag: t.operator, color: '#be185d' },
  { tag: t.propertyName, color: '#1d4ed8', fontWeight: 'bold' },
  { tag: t.function(t.variableName), color: '#0e7490' },
  { tag: t.attributeName, color: '#9333ea' },
  { tag: t.typeName, color: '#111827', fontWeight: 'bold' },
]);

export const optimHighlighting = syntaxHighlighting(style);
