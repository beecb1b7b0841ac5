/**
 * Parsing one manifest file into objects with line numbers: multi-document YAML (`---`), JSON, and
 * Kubernetes `List` documents. Problems are returned, never thrown, so one bad document skips only itself.
 */
import { LineCounter, isScalar, parseAllDocuments, visit } from 'yaml';
import type { Document } from 'yaml';
import type { KubeObject } from '@trellis/plugin-sdk';

export interface ParsedObject {
  readonly obj: KubeObject;
  readonly line: number;
}

export interface ParseProblem {
  readonly line?: number;
  readonly message: string;
}

export interface ParsedFile {
  readonly objects: ParsedObject[];
  readonly problems: ParseProblem[];
}

/** Deepest nesting of maps and lists accepted in a document (Kubernetes objects need about 10). */
export const MAX_DEPTH = 64;

const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the shape every object needs before the store can key it. */
function shapeProblem(v: unknown): string | undefined {
  if (!isRec(v)) return 'a document must be a map (a Kubernetes object)';
  if (typeof v.apiVersion !== 'string' || v.apiVersion === '') return 'apiVersion: is required';
  if (typeof v.kind !== 'string' || v.kind === '') return 'kind: is required';
  if (!isRec(v.metadata)) return `${v.kind}: metadata: is required`;
  if (typeof v.metadata.name !== 'string' || v.metadata.name === '') return `${v.kind}: metadata.name: is required`;
  if (v.metadata.namespace !== undefined && typeof v.metadata.namespace !== 'string') return `${v.kind}/${v.metadata.name}: metadata.namespace: must be a string`;
  return undefined;
}

/** Nesting depth of a parsed value, counted without recursion (a hostile file must not exhaust the stack). */
export function depthOf(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

function collect(value: unknown, line: number, out: ParsedFile): void {
  if (value === null || value === undefined) return; // empty document
  if (depthOf(value, MAX_DEPTH) > MAX_DEPTH) {
    out.problems.push({ line, message: `nested more than ${MAX_DEPTH} levels deep; document skipped` });
    return;
  }
  if (isRec(value) && value.kind === 'List' && Array.isArray(value.items)) {
    for (const item of value.items) collect(item, line, out);
    return;
  }
  const problem = shapeProblem(value);
  if (problem) out.problems.push({ line, message: problem });
  else out.objects.push({ obj: value as unknown as KubeObject, line });
}

/** Parses one manifest file; never throws (a parser that runs out of stack is reported like any problem). */
export function parseManifest(text: string, fileName: string): ParsedFile {
  try {
    return parseUnsafe(text, fileName);
  } catch (err) {
    const why = err instanceof RangeError ? `nested too deeply to parse (${err.message})` : `cannot parse: ${(err as Error).message}`;
    return { objects: [], problems: [{ line: 1, message: why }] };
  }
}

function parseUnsafe(text: string, fileName: string): ParsedFile {
  const out: ParsedFile = { objects: [], problems: [] };
  if (fileName.endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      out.problems.push({ line: 1, message: `invalid JSON: ${(err as Error).message}` });
      return out;
    }
    for (const v of Array.isArray(value) ? value : [value]) collect(v, 1, out);
    return out;
  }
  const lines = new LineCounter();
  // The parser's own unique-key check compares every key with every other (quadratic: a 1 MiB map took
  // 20 s); `duplicateKey` does the same check in linear time.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  for (const doc of 'empty' in docs ? [] : docs) {
    // The document's first content line (after `---` and comments).
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lines.linePos(start).line;
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      // Report the document's first line (where the object starts); the parser's position goes in the message.
      const at = lines.linePos(e.pos[0]);
      out.problems.push({ line, message: `invalid YAML (line ${at.line}, column ${at.col}): ${e.message.split('\n')[0] ?? e.message}; document skipped` });
      continue;
    }
    const dup = duplicateKey(doc);
    if (dup) {
      const at = lines.linePos(dup.pos);
      out.problems.push({ line, message: `invalid YAML (line ${at.line}, column ${at.col}): Map keys must be unique (${JSON.stringify(dup.key)}); document skipped` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      out.problems.push({ line, message: `invalid YAML: ${(err as Error).message}` });
      continue;
    }
    collect(value, line, out);
  }
  return out;
}

/** The first repeated scalar key of any map in the document, with its position. */
function duplicateKey(doc: Document.Parsed): { key: string; pos: number } | undefined {
  let found: { key: string; pos: number } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const k = pair.key.value;
        if (seen.has(k)) {
          found = { key: String(k), pos: pair.key.range?.[0] ?? 0 };
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}
