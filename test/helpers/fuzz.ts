/**
 * Property-based fuzzing of the HTTP surface (issue 10, item 1), with fast-check.
 *
 * - Seeded: `FUZZ_SEED` (default below) is the one seed of a file; each property draws from its
 *   own stream, seeded with a hash of `FUZZ_SEED` and the property's name (its route), so that
 *   operations do not all get the same sequence of choices. `FUZZ_RUNS` sets the runs per
 *   property (each file picks its default).
 * - Stateful, so no shrinking: the properties run against one database that every run changes
 *   (a capture adds a contact, a deletion removes the draft the next run names), and an input
 *   replayed after the runs that followed it would not meet the same database. So a property
 *   stops at its first failure (`endOnFailure`), and prints the file's `FUZZ_SEED`, the failing
 *   run's number, the request and the answer. A property that runs out of time stops below the
 *   test's time limit and fails the same way (never a bare vitest timeout).
 * - Replaying a failure: re-run the whole file with the printed seed,
 *   `FUZZ_SEED=<seed> npx vitest run <file>` (and the same `FUZZ_RUNS`, if it was set). The same
 *   seed gives the same requests in the same order, against a fixture built the same way: the
 *   rows an input names are picked by role ("the draft of this refresh", "the admin's email"),
 *   from pools in a fixed order and of a fixed size, never by their random id.
 *   `FUZZ_TRACE=<directory>` writes every request of a file, ids replaced by their table's row
 *   number: two processes with the same seed write the same trace (checked when this was
 *   written). Narrowing with `-t` changes the database the property meets (the skipped
 *   properties did not write), so it may not reproduce a failure that needs earlier runs.
 *   `FUZZ_PATH=<the printed path>` with `-t '<test>'` sends the failing run's input alone
 *   (the same request, checked with the trace): enough for a failure of the input itself (a 5xx
 *   on a malformed body), not for one that needs what earlier runs wrote.
 * - Inputs: `fromSchema` turns the OpenAPI document's JSON schemas into generators of valid
 *   bodies and query strings, which `mutate` then breaks in one or two places (wrong type, null,
 *   huge or unicode-edge string, odd number, deep nesting, unknown or prototype-polluting
 *   key...): the request passes everything but one check, which is where a missing validation
 *   hides. Each property also has to get some answers past validation (`minSuccesses`): a
 *   property whose every answer is a 400 fuzzes nothing behind the validator.
 * - `checkAnswer` holds the invariants of every answer; `watchWrites` tells whether a request
 *   committed anything to the database, and `checkNoWrite` which writes a request may make.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Client } from '@libsql/client';
import { BASE, type TestApp } from './app.js';

// ---------------------------------------------------------------------------------------------
// Configuration

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${raw}`);
  return n;
}

/** The one seed of every property (fast-check prints it with any counterexample). */
export const FUZZ_SEED = intEnv('FUZZ_SEED', 20261122);

/** Runs per property: `FUZZ_RUNS` when set, else the file's default. */
export function fuzzRuns(defaultRuns: number): number {
  return intEnv('FUZZ_RUNS', defaultRuns);
}

/**
 * The seed of one property: a stable hash (SHA-256) of `FUZZ_SEED` and the property's name, so
 * that each route draws its own stream (with one seed for all, the n-th run of every operation
 * would make the same choices: the same caller, the same kind of body) while one `FUZZ_SEED`
 * still fixes every stream of the file.
 */
export function propertySeed(name: string, base = FUZZ_SEED): number {
  return createHash('sha256').update(`${base}\u0000${name}`).digest().readInt32BE(0);
}

/** Answers expected to get past validation for `runs` runs: a few, once the runs are enough to expect any. */
export function minSuccesses(runs: number): number {
  return runs < 100 ? 0 : Math.max(1, Math.floor(runs / 1000));
}

/** A test's time limit for `runs` runs of a property costing about `msPerRun`, with a wide margin. */
export function fuzzTimeout(runs: number, msPerRun: number): number {
  return Math.max(60_000, runs * msPerRun * 4);
}

// ---------------------------------------------------------------------------------------------
// Values that print shortly in counterexamples but expand to big or raw JSON

/** A piece of JSON text inserted as is (numbers JSON.stringify cannot write, deep nesting...). */
export class Raw {
  constructor(
    readonly text: string,
    readonly label = text.length > 60 ? `${text.slice(0, 40)}…(${text.length} chars)` : text,
  ) {}
  [fc.toStringMethod]() {
    return `Raw(${this.label})`;
  }
}

/** A long string, built when the body is encoded. */
export class Big {
  constructor(
    readonly unit: string,
    readonly count: number,
  ) {}
  get value() {
    const key = `${this.count}:${this.unit}`;
    let value = Big.built.get(key);
    if (value === undefined) Big.built.set(key, (value = this.unit.repeat(this.count)));
    return value;
  }
  private static built = new Map<string, string>();
  [fc.toStringMethod]() {
    return `Big(${JSON.stringify(this.unit)}×${this.count})`;
  }
}

/** JSON text of a value that may hold `Raw` and `Big` parts. */
export function encodeJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Big) return JSON.stringify(value.value);
  if (Array.isArray(value)) return `[${value.map(encodeJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${encodeJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The value as text for a query string or a form field. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Big) return value.value;
  return encodeJson(value);
}

// ---------------------------------------------------------------------------------------------
// Nasty values

/**
 * Strings that broke real systems: lone surrogates (not encodable in UTF-8), NUL, bidi
 * overrides (CVE-2021-42574 "Trojan Source"), zero-width and BOM, combining marks, ZWJ emoji,
 * case mappings that change length (İ, ß, ﬃ), homoglyphs and full-width forms, line
 * separators and CRLF (header injection), markup, SQL, template and format syntax, path
 * traversal, number-ish words, prototype keys.
 */
export const EDGE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uD83D',
  '\uDE00x',
  '\u202Eevil\u202C.txt',
  '\u2066\u2069\u200F',
  '\u200B\u200C\u200D',
  '\uFEFFbom',
  'e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308',
  '\u0301',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  '𝕏𝔸',
  '\u2028\u2029',
  '\r\n',
  'x\r\nX-Injected: 1',
  '\t\u000B\u000C\u0085\u00A0',
  'İ',
  'ß',
  'ﬃ',
  'ǅ',
  'İstanbul@EXAMPLE.test',
  'аdmin@example.test',
  'ＡＢＣ＠ｅｘａｍｐｌｅ．ｃｏｍ',
  'marie+tag@example.test',
  '"quoted"@example.test',
  'a@b',
  '@',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' OR '1'='1' --",
  '; DROP TABLE contacts; --',
  '{{firstName}}',
  '{{#each a}}{{/each}}',
  '{{firstName|"\\"}}',
  '{{',
  '${7*7}',
  '%s%s%n',
  '../../../etc/passwd',
  '..',
  '%00',
  '%2e%2e%2f',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e308',
  '1e309',
  '0x1F',
  '١٢٣',
  '１２３',
  '9007199254740993',
  '2026-02-30T25:61:61Z',
  '0000-00-00',
  '+275760-09-13T00:00:00.001Z',
  '__proto__',
  'constructor',
  'toString',
  '\\',
  '"',
  "'",
  '<mj-raw><?php ?></mj-raw>',
  '<mj-section><mj-column><mj-text>',
  'javascript:alert(1)',
  'https://evil.example/',
  '//evil.example',
];

/** Long strings (built when sent): 100 KB of ASCII, of astral emoji, of combining marks, of NULs. */
export const BIG_STRINGS: readonly Big[] = [new Big('x', 100_000), new Big('😀', 25_000), new Big('e\u0301', 50_000), new Big('\u0000', 100_000), new Big('\uD800', 10_000)];

const nested = (depth: number, open: string, close: string, inner = '1') => new Raw(open.repeat(depth) + inner + close.repeat(depth), `${open}×${depth}`);

/** JSON literals JSON.stringify cannot produce, and structures deep or wide enough to hurt. */
export const RAW_VALUES: readonly Raw[] = [
  new Raw('-0'),
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('1e-400'),
  new Raw('123456789012345678901234567890'),
  new Raw('0.1e-999999'),
  new Raw('{"__proto__":{"isAdmin":true,"role":"admin"}}'),
  new Raw('{"constructor":{"prototype":{"polluted":true}}}'),
  new Raw('{"a":1,"a":2}'),
  nested(20, '[', ']'),
  nested(5_000, '[', ']'),
  nested(5_000, '{"a":', '}'),
  new Raw(`[${'1,'.repeat(100_000)}1]`, '[1×100001]'),
  new Raw(`{${Array.from({ length: 5_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`, '{k0..k4999}'),
];

export const edgeString = fc.constantFrom(...EDGE_STRINGS);

/** Mostly short strings of every kind; now and then a 100 KB one. */
export const nastyString: fc.Arbitrary<string | Big> = fc.oneof(
  { weight: 6, arbitrary: edgeString },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), edgeString, fc.string({ maxLength: 8 })).map(([a, b, c]) => a + b + c) },
  { weight: 1, arbitrary: fc.constantFrom(...BIG_STRINGS) },
);

const oddNumbers = fc.constantFrom(0, -1, 1.5, 0.001, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, -(2 ** 63), 2 ** 64, 2 ** 31, -(2 ** 31) - 1);

/** A value of any type, chosen to be wrong wherever a field expects something precise. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }) },
  { weight: 2, arbitrary: oddNumbers },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_VALUES) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Keys nobody declared, including the ones that pollute prototypes. */
export const nastyKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'workspaceId', 'role', 'isAdmin', '', ' ', '\u0000', 'a.b', '$where'), fc.string({ maxLength: 12 }));

// ---------------------------------------------------------------------------------------------
// Valid values from JSON schemas (OpenAPI 3.1)

export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  example?: unknown;
  default?: unknown;
  nullable?: boolean;
};

/** A row that exists when the request runs, named by role so that replays regenerate it. */
export class Ref {
  constructor(
    readonly pool: string,
    readonly index: number,
  ) {}
  [fc.toStringMethod]() {
    return `Ref(${this.pool}#${this.index})`;
  }
}

export interface SchemaContext {
  /** The document's `components.schemas`, for `$ref`. */
  components: Record<string, Schema>;
  /** Pool names known to the fixture (`campaigns`, `contacts`, `emails`...). */
  pools: readonly string[];
}

/** `segmentId` → `segments`, `userId` → `users`, `email` → `emails`: which pool a field draws from. */
export function poolFor(name: string, pools: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  if (lower.includes('email')) return pools.includes('emails') ? 'emails' : undefined;
  const stem = /^(.*?)ids?$/i.exec(name)?.[1]?.toLowerCase();
  if (stem === undefined) return undefined;
  if (stem === '' || stem === 'request') {
    // `id` alone is decided by the path; `requestId` names a data-subject request.
    return stem === 'request' && pools.includes('dsrrequests') ? 'dsrrequests' : undefined;
  }
  const plural = `${stem}s`;
  return pools.includes(plural) ? plural : pools.includes(stem) ? stem : undefined;
}

const ref = (pool: string) => fc.nat({ max: 7 }).map((i) => new Ref(pool, i));

function stringArb(schema: Schema, name: string, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 60, 60);
  const fits = (s: string) => s.length >= min && s.length <= (schema.maxLength ?? Infinity);
  const options: fc.WeightedArbitrary<unknown>[] = [];
  const pool = poolFor(name, ctx.pools);
  if (pool) options.push({ weight: 6, arbitrary: ref(pool) });
  if (schema.example !== undefined && typeof schema.example === 'string' && fits(schema.example)) options.push({ weight: 2, arbitrary: fc.constant(schema.example) });
  if (schema.format === 'email') options.push({ weight: 4, arbitrary: fc.emailAddress().filter((e) => e.length <= (schema.maxLength ?? 254)) });
  else if (schema.format === 'date-time') options.push({ weight: 4, arbitrary: fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2028-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()) });
  else if (schema.format === 'date') options.push({ weight: 4, arbitrary: fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2028-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) });
  else if (schema.format === 'uri') options.push({ weight: 4, arbitrary: fc.webUrl({ validSchemes: ['https'] }).filter((u) => u.length <= (schema.maxLength ?? 500)) });
  else if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    options.push({ weight: 4, arbitrary: fc.stringMatching(pattern).filter((s) => fits(s)) });
  } else {
    options.push({ weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: Math.max(min, max) }) });
    options.push({ weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.max(min, max) }).filter(fits) });
    // Within the limits, still odd: zod's length is in UTF-16 code units.
    options.push({ weight: 1, arbitrary: edgeString.filter(fits) });
  }
  return fc.oneof(...options);
}

function numberArb(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 1e-6) : -1e6);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : 1e-6) : 1e6);
  const edges = [min, max].filter((n) => Number.isFinite(n));
  const main = integer ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((n) => Math.round(n * 100) / 100).filter((n) => n >= min && n <= max);
  return fc.oneof({ weight: 4, arbitrary: main }, { weight: 1, arbitrary: fc.constantFrom(...(integer ? edges.map(Math.round) : edges)) });
}

/**
 * Values valid for the schema (as far as a schema says: ids and emails come from the fixture's
 * pools, so a body can name the campaign that exists). Arrays are kept short and recursion
 * shallow: the point is to reach the handler, not to build big trees.
 */
export function fromSchema(schema: Schema, ctx: SchemaContext, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const target = ctx.components[schema.$ref.replace('#/components/schemas/', '')];
    if (!target) throw new Error(`unknown $ref ${schema.$ref}`);
    return fromSchema(target, ctx, name, depth);
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, ctx, name, depth)));
  if (schema.allOf) return fromSchema(Object.assign({}, ...schema.allOf) as Schema, ctx, name, depth);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.type)) {
    return fc.oneof(...schema.type.map((type) => (type === 'null' ? fc.constant(null) : fromSchema({ ...schema, type }, ctx, name, depth))));
  }
  const orNull = (a: fc.Arbitrary<unknown>) => (schema.nullable ? fc.option(a, { nil: null, freq: 5 }) : a);
  switch (schema.type) {
    case 'string':
      return orNull(stringArb(schema, name, ctx));
    case 'integer':
      return orNull(numberArb(schema, true));
    case 'number':
      return orNull(numberArb(schema, false));
    case 'boolean':
      return orNull(fc.boolean());
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minItems = schema.minItems ?? 0;
      const maxItems = Math.max(minItems, Math.min(schema.maxItems ?? 4, depth > 1 ? 1 : 3));
      const item = schema.items ? fromSchema(schema.items, ctx, name.replace(/s$/, ''), depth + 1) : fc.jsonValue({ maxDepth: 1 });
      return orNull(fc.array(item, { minLength: minItems, maxLength: maxItems }));
    }
    case 'object':
    case undefined: {
      if (!schema.properties && schema.type === undefined) return fc.jsonValue({ maxDepth: 2 });
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, sub] of Object.entries(props)) shape[key] = fromSchema(sub, ctx, key, depth + 1);
      const record = fc.record(shape, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object' && Object.keys(props).length === 0) {
        return orNull(fc.dictionary(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }), fromSchema(extra, ctx, '', depth + 1), { maxKeys: 3 }));
      }
      return orNull(record);
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid value

export type Mutation = { at: number; kind: 'replace' | 'delete' | 'add' | 'wrap'; key: string; value: unknown };

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add', 'wrap'),
  key: nastyKey,
  value: nastyValue,
});

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !(v instanceof Raw) && !(v instanceof Big) && !(v instanceof Ref) && !Array.isArray(v);
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: clone(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown) {
  // defineProperty, so that "__proto__" becomes a key of the JSON and not the object's prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The value with the mutations applied (each picks its place among every node, root included). */
export function mutate(valid: unknown, mutations: Mutation[]): unknown {
  let root = clone(valid);
  for (const { value, ...rest } of mutations) {
    // A copy: constant arrays and objects are shared between runs, and a later mutation that
    // adds to one would otherwise change (or loop) every body that holds it.
    const m = { ...rest, value: clone(value) };
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length]!;
    if (path.length === 0) {
      if (m.kind === 'add' && isPlainObject(root)) setOwn(root, m.key, m.value);
      else if (m.kind === 'wrap') root = [root];
      else if (m.kind === 'replace') root = m.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], root) as Record<string | number, unknown> | unknown[];
    const last = path[path.length - 1]!;
    const current = (parent as Record<string | number, unknown>)[last];
    if (m.kind === 'replace') (parent as Record<string | number, unknown>)[last] = m.value;
    else if (m.kind === 'wrap') (parent as Record<string | number, unknown>)[last] = [current];
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (isPlainObject(current)) setOwn(current, m.key, m.value);
    else if (Array.isArray(current)) current.push(m.value);
    else if (!Array.isArray(parent)) setOwn(parent, m.key, m.value);
  }
  return root;
}

/** Replaces every `Ref` by the value it names in the fixture. */
export function resolveRefs(value: unknown, pools: Record<string, readonly string[]>): unknown {
  if (value instanceof Ref) {
    const pool = pools[value.pool] ?? [];
    return pool.length ? pool[value.index % pool.length] : `missing-${value.pool}`;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, pools));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, resolveRefs(v, pools));
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Bodies, path segments, query strings

export type BodyPlan =
  | { kind: 'json'; value: unknown; contentType: string }
  | { kind: 'text'; text: string; contentType: string | null }
  | { kind: 'none' };

/** Content types a JSON endpoint may wrongly receive. */
export const wrongContentTypes = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'application/json-patch+json',
  'application/xml',
  'application/octet-stream',
  '',
  'application/json, text/html',
  'APPLICATION/JSON',
);

/** Texts that are not quite JSON. */
export const malformedJson = fc.oneof(
  fc.constantFrom('', ' ', '{', '}', '[', '{"a":}', '{"a" 1}', "{'a':1}", '{"a":1,}', '[1,]', 'NaN', 'undefined', 'null', 'true', '0', '"str"', '\uFEFF{}', '{}\u0000', '{"a":"\\uD800"}', '{"a":"\\u00"}', '{"a":"\\x41"}', '{"a":01}', '{"a":.5}', '{"a":+1}', '{"a":Infinity}', '/*c*/{}', '{}{}', '{"a":"\u0000"}', 'a=1&b=2', '<xml/>'),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.jsonValue({ maxDepth: 3 }).chain((v) => {
    const text = JSON.stringify(v) ?? 'null';
    return fc.nat({ max: Math.max(0, text.length - 1) }).map((n) => text.slice(0, n));
  }),
);

/** Over the 1 MB limit of every JSON endpoint (src/app.ts), built when sent. */
export const OVERSIZED = new Big('x', 1024 * 1024 + 16);

/**
 * Bodies for an operation whose valid body `valid` generates: mostly valid-but-mutated, then
 * valid as is, any JSON, broken JSON, the wrong content type, nothing, or over the size limit.
 */
export function bodyPlans(valid: fc.Arbitrary<unknown> | undefined): fc.Arbitrary<BodyPlan> {
  const json = (value: fc.Arbitrary<unknown>) => value.map((v): BodyPlan => ({ kind: 'json', value: v, contentType: 'application/json' }));
  const base = valid ?? fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    { weight: 10, arbitrary: json(fc.tuple(base, fc.array(mutationArb, { minLength: 1, maxLength: 2 })).map(([v, ms]) => mutate(v, ms))) },
    { weight: 3, arbitrary: json(base) },
    { weight: 2, arbitrary: json(fc.oneof(fc.jsonValue({ maxDepth: 4 }), nastyValue)) },
    { weight: 2, arbitrary: malformedJson.map((text): BodyPlan => ({ kind: 'text', text, contentType: 'application/json' })) },
    { weight: 2, arbitrary: fc.tuple(base, wrongContentTypes).map(([v, type]): BodyPlan => ({ kind: 'json', value: v, contentType: type })) },
    { weight: 1, arbitrary: fc.constantFrom<BodyPlan>({ kind: 'none' }, { kind: 'text', text: '', contentType: 'application/json' }, { kind: 'text', text: '', contentType: null }) },
    { weight: 1, arbitrary: fc.constant<BodyPlan>({ kind: 'json', value: { data: OVERSIZED }, contentType: 'application/json' }) },
  );
}

/**
 * A path segment as it goes on the wire: an existing row's id (ours or another workspace's),
 * or something hostile: encoded unicode, raw `..` and `%00`, invalid percent-encoding
 * (`%E0%A4%A`, an encoded lone surrogate), 5000 characters.
 */
export function segmentArb(pool: string | undefined): fc.Arbitrary<Ref | string> {
  const hostile = fc.oneof(
    fc.constantFrom('..', '.', '%00', '%2e%2e', '%2F', '%2f..%2f', '%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C0%AE', '%FF', 'a%20b', '%0D%0AX-Injected:%201', '~', '-1', '0', 'null', 'undefined', '1e308', 'NaN', '*', '%2A', 'x'.repeat(5000), 'ct_', 'seg_'),
    nastyString.map((s) => encodeSegment(s instanceof Big ? s.value.slice(0, 3000) : s)).filter((s) => s.length > 0),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeSegment),
  );
  return pool ? fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 7 }).map((i) => new Ref(pool, i)) }, { weight: 1, arbitrary: fc.nat({ max: 7 }).map((i) => new Ref(`other:${pool}`, i)) }, { weight: 3, arbitrary: hostile }) : hostile;
}

/** encodeURIComponent that survives lone surrogates (sending them as their CESU bytes, invalid UTF-8). */
export function encodeSegment(s: string): string {
  if (!/[\uD800-\uDFFF]/.test(s) || (s as string & { isWellFormed(): boolean }).isWellFormed()) return encodeURIComponent(s);
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16).toUpperCase()}%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

export type QueryPlan = [key: string, value: unknown][];

/** A query string: the documented parameters valid or nasty, plus unknown and repeated ones. */
export function queryArb(params: { name: string; schema: Schema; required?: boolean }[], ctx: SchemaContext): fc.Arbitrary<QueryPlan> {
  const one = params.map((p) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant<QueryPlan>([]) },
      { weight: 4, arbitrary: fromSchema(p.schema, ctx, p.name).map((v): QueryPlan => [[p.name, v]]) },
      { weight: 3, arbitrary: nastyValue.map((v): QueryPlan => [[p.name, v]]) },
      { weight: 1, arbitrary: fc.tuple(fromSchema(p.schema, ctx, p.name), nastyValue).map(([a, b]): QueryPlan => [[p.name, a], [p.name, b]]) },
    ),
  );
  const extra = fc.array(fc.tuple(nastyKey, nastyValue), { maxLength: 2 });
  return fc.tuple(fc.tuple(...one), extra).map(([parts, more]) => [...parts.flat(), ...more] as QueryPlan);
}

export function encodeQuery(plan: QueryPlan, pools: Record<string, readonly string[]>): string {
  if (plan.length === 0) return '';
  return `?${plan.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(asText(resolveRefs(v, pools)))}`).join('&')}`;
}

// ---------------------------------------------------------------------------------------------
// Sending a request and checking the answer

export interface Outgoing {
  method: string;
  /** Path and query string, already encoded as on the wire. */
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

export function bodyOf(plan: BodyPlan, pools: Record<string, readonly string[]>): { body?: string; contentType: string | null } {
  if (plan.kind === 'none') return { contentType: null };
  if (plan.kind === 'text') return { body: plan.text, contentType: plan.contentType };
  return { body: encodeJson(resolveRefs(plan.value, pools)), contentType: plan.contentType };
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  headers: Headers;
}

/**
 * Sends through the app in process (`app.request`: the whole middleware stack and a real
 * database, without sockets), then waits for what the request set going (mail queue, send
 * runner, hit buffer), so that any write it caused is attributed to it.
 */
export async function send(t: TestApp, req: Outgoing): Promise<Answer> {
  const res = await t.app.request(`${BASE}${req.url}`, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
  await t.sendRunner.idle();
  await t.deps.mailQueue.drain();
  await t.deps.hits.flush();
  const text = req.method === 'HEAD' ? '' : await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, headers: res.headers };
}

function safeDecode(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/** What leaks an implementation detail: a stack frame, an exception's name, the driver's words. */
const LEAKS = /(\bat [^\n]+\.(?:ts|tsx|js|mjs|cjs):\d+)|\b(?:TypeError|RangeError|SyntaxError|ReferenceError|ZodError|LibsqlError|SqliteError|SQLITE_[A-Z]+|DrizzleQueryError)\b|node_modules|\/src\//;

function describeExchange(req: Outgoing, answer: Answer) {
  const body = req.body === undefined ? '(none)' : req.body.length > 300 ? `${req.body.slice(0, 300)}…(${req.body.length} chars)` : req.body;
  const url = req.url.length > 300 ? `${req.url.slice(0, 300)}…` : req.url;
  return `${req.method} ${url}\nheaders: ${JSON.stringify(req.headers)}\nbody: ${body}\n→ ${answer.status} ${answer.contentType}\n${answer.text.slice(0, 600)}`;
}

/**
 * The invariants of every answer: never a 5xx; a 4xx is the JSON error envelope (with the
 * request id of the `X-Request-Id` header) or, for a browser on a page route, an HTML error
 * page; neither leaks a stack trace or an exception's text (OWASP ASVS 7.4.1).
 */
export function checkAnswer(req: Outgoing, answer: Answer, options: { api: boolean }): void {
  const fail = (why: string) => {
    throw new Error(`${why}\n${describeExchange(req, answer)}`);
  };
  if (answer.status >= 500) fail(`server error ${answer.status}`);
  // HEAD is answered by the GET handler without a body: its status is all there is to check.
  if (req.method === 'HEAD') return;
  const leak = answer.status >= 400 ? LEAKS.exec(answer.text)?.[0] : undefined;
  // An error may quote the request (a 404 names the path it did not find): only what the
  // request did not contain counts as a leak.
  if (leak && !req.url.includes(leak) && !safeDecode(req.url).includes(leak) && !req.body?.includes(leak)) fail(`the answer leaks an implementation detail: ${leak}`);
  if (answer.status < 400) {
    if (answer.contentType.includes('application/json') && answer.text) {
      try {
        JSON.parse(answer.text);
      } catch {
        fail('a JSON answer that does not parse');
      }
    }
    return;
  }
  if (answer.contentType.includes('application/json')) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return fail('an error answer that is not JSON');
    }
    const error = (body as { error?: Record<string, unknown> } | null)?.error;
    if (!error || typeof error !== 'object') return fail('no error envelope');
    const keys = Object.keys(error).filter((k) => k !== 'details');
    if (keys.sort().join(',') !== 'code,message,requestId') fail(`error envelope keys: ${Object.keys(error).join(',')}`);
    if (typeof error.code !== 'string' || !error.code) fail('error.code is not a non-empty string');
    if (typeof error.message !== 'string' || !error.message) fail('error.message is not a non-empty string');
    if (typeof error.requestId !== 'string' || error.requestId !== answer.headers.get('x-request-id')) fail('error.requestId is not the X-Request-Id of the answer');
    return;
  }
  if (options.api) return fail('an API error that is not the JSON envelope');
  if (answer.contentType.includes('text/html')) {
    if (!answer.text.includes('<html lang="fr">')) fail('an HTML error that is not one of our pages');
    return;
  }
  fail('an error answer that is neither the JSON envelope nor an HTML page');
}

// ---------------------------------------------------------------------------------------------
// Did the request write anything?

export interface Write {
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** For updates: the columns whose value changed. */
  columns: string[];
}

/**
 * Records every row the app commits, so that a refused request can be proven to have written
 * nothing, thousands of times over.
 *
 * Why temporary triggers: the app and `t.client` share one SQLite connection (the embedded
 * client is created with `concurrency: 1` and used in turn, src/db/node.ts and write-queue.ts),
 * so TEMP triggers, which live only on that connection, see every statement the app runs
 * and are never written to the database file. They log into a TEMP table, which is
 * transactional: a transaction the app rolls back takes its log rows with it, so only
 * committed changes remain, which is exactly "the database changed". The alternatives fall
 * short: `total_changes()` also counts rolled-back changes (a refused capture that rolls back
 * would look like a write); `PRAGMA data_version` ignores the connection's own commits; a
 * count + max(rowid) fingerprint misses UPDATEs; `t.dumpDatabase()` is exact but reads every
 * row, twice per request. Reading the log is one small query per request. Should the pool ever
 * replace the connection, the log table is gone and `take` fails loudly rather than seeing
 * nothing.
 */
export async function watchWrites(client: Client) {
  const tables = (await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY name")).rows.map((r) => String(r.name));
  await client.execute('CREATE TEMP TABLE fuzz_writes (tbl TEXT NOT NULL, op TEXT NOT NULL, cols TEXT)');
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
  for (const table of tables) {
    const columns = (await client.execute(`SELECT name FROM pragma_table_info(${lit(table)})`)).rows.map((r) => String(r.name));
    const changed = columns.map((c) => `CASE WHEN old.${q(c)} IS NOT new.${q(c)} THEN ${lit(`${c},`)} ELSE '' END`).join(' || ');
    await client.execute(`CREATE TEMP TRIGGER ${q(`fuzz_ins_${table}`)} AFTER INSERT ON main.${q(table)} BEGIN INSERT INTO fuzz_writes VALUES (${lit(table)}, 'insert', NULL); END`);
    await client.execute(`CREATE TEMP TRIGGER ${q(`fuzz_del_${table}`)} AFTER DELETE ON main.${q(table)} BEGIN INSERT INTO fuzz_writes VALUES (${lit(table)}, 'delete', NULL); END`);
    // An UPDATE that sets every column to its current value changes nothing: not logged.
    await client.execute(
      `CREATE TEMP TRIGGER ${q(`fuzz_upd_${table}`)} AFTER UPDATE ON main.${q(table)} WHEN (${changed}) <> '' BEGIN INSERT INTO fuzz_writes VALUES (${lit(table)}, 'update', ${changed}); END`,
    );
  }
  return {
    tables,
    /** The writes committed since the last call (and forgets them). */
    async take(): Promise<Write[]> {
      const rows = (await client.execute('SELECT tbl, op, cols FROM temp.fuzz_writes')).rows;
      if (rows.length === 0) return [];
      await client.execute('DELETE FROM temp.fuzz_writes');
      return rows.map((r) => ({ table: String(r.tbl), op: String(r.op) as Write['op'], columns: r.cols ? String(r.cols).split(',').filter(Boolean) : [] }));
    },
  };
}

export type WriteWatch = Awaited<ReturnType<typeof watchWrites>>;

/**
 * A write a refused request is allowed to make, and why. Listed one by one, so that a new
 * exception is a decision someone wrote down, never a silent pass; and narrowly, for the answer
 * and the caller the reason holds for (a failed login is recorded on a 401 for wrong
 * credentials, not on a 400 for a body that does not parse).
 */
export interface AllowedWrite {
  /** `METHOD /path` as the route is registered (with :params), or `*` for every route. */
  route: string;
  table: string;
  op: Write['op'];
  /** For updates: only these columns may change. */
  columns?: string[];
  /** Only on an answer with this status... */
  status?: number;
  /** ...and this error code. */
  code?: string;
  /** Only when this caller made the request (the fuzzer's name for it: `apiKey`, `admin`...). */
  caller?: string;
  why: string;
}

/** What a write is judged against: the route, the answer, who called. */
export interface WriteContext {
  route: string;
  status: number;
  code: string | undefined;
  caller?: string | undefined;
}

/** The error code of a JSON error answer, if any. */
export function errorCode(answer: Answer): string | undefined {
  if (!answer.contentType.includes('application/json') || answer.status < 400) return undefined;
  try {
    const code = (JSON.parse(answer.text) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

export function forbiddenWrites(ctx: WriteContext, writes: Write[], allowed: readonly AllowedWrite[]): Write[] {
  return writes.filter(
    (w) =>
      !allowed.some(
        (a) =>
          (a.route === '*' || a.route === ctx.route) &&
          a.table === w.table &&
          a.op === w.op &&
          (!a.columns || w.columns.every((c) => a.columns!.includes(c))) &&
          (a.status === undefined || a.status === ctx.status) &&
          (a.code === undefined || a.code === ctx.code) &&
          (a.caller === undefined || a.caller === ctx.caller),
      ),
  );
}

/**
 * Fails when a refused request (4xx) committed anything but the listed exceptions, or when a
 * request whose token does not verify (`forged`: tampered, truncated, re-purposed, signed with
 * another key) committed anything at all, whatever it answered: the pixel answers every token
 * with its GIF and a 200, so the status alone would let a forged open be recorded unseen.
 */
export function checkNoWrite(route: string, req: Outgoing, answer: Answer, writes: Write[], allowed: readonly AllowedWrite[], options: { caller?: string; forged?: boolean } = {}): void {
  if (options.forged) {
    if (writes.length) throw new Error(`a request whose token does not verify wrote to the database (${answer.status}): ${JSON.stringify(writes)}\n${describeExchange(req, answer)}`);
    return;
  }
  if (answer.status < 400) return;
  const bad = forbiddenWrites({ route, status: answer.status, code: errorCode(answer), caller: options.caller }, writes, allowed);
  if (bad.length) throw new Error(`a refused request (${answer.status}) wrote to the database: ${JSON.stringify(bad)}\n${describeExchange(req, answer)}`);
}

// ---------------------------------------------------------------------------------------------
// Running a property

/** What one run sent and got, for the statistics, the success count and the trace. */
export interface FuzzRun {
  req: Outgoing;
  answer: Answer;
}

export interface FuzzPropertyOptions<T> {
  /** The property's name (its route): its seed derives from it, failures and traces quote it. */
  name: string;
  arbitrary: fc.Arbitrary<T>;
  runs: number;
  /** The test's own time limit (`fuzzTimeout`): the property stops, failed, 15 s before it. */
  timeoutMs: number;
  /** One run: sends the request and checks the invariants (throws when one breaks). */
  run: (value: T) => Promise<FuzzRun>;
  /**
   * Answers that must count as a success for the property to pass (`minSuccesses(runs)` by
   * default; 0 only for a route with a written reason why nothing can succeed).
   */
  minSuccesses?: number;
  /** What a success is: a 2xx by default (pages add their redirects). */
  success?: (answer: Answer) => boolean;
  /** For FUZZ_TRACE: the database whose row numbers stand for the random ids in the trace. */
  client?: Client;
}

/**
 * Runs one property: its own seed, `endOnFailure` (no shrinking against a database the earlier
 * runs changed), a time limit below the test's, and a report that says how to replay it. Returns
 * the count of answers per status (and error code), which FUZZ_STATS prints.
 */
export async function fuzzProperty<T>(o: FuzzPropertyOptions<T>): Promise<Map<string, number>> {
  const seed = propertySeed(o.name);
  const replaying = Boolean(process.env.FUZZ_PATH);
  const statuses = new Map<string, number>();
  const isSuccess = o.success ?? ((a: Answer) => a.status >= 200 && a.status < 300);
  let successes = 0;
  let runs = 0;
  let failedRun: number | undefined;
  const file = expect.getState().testPath?.replace(`${process.cwd()}/`, '') ?? '<file>';
  // One trace per test file (files run side by side), in the FUZZ_TRACE directory.
  const trace = process.env.FUZZ_TRACE ? `${process.env.FUZZ_TRACE}/${file.replaceAll('/', '_')}.trace` : undefined;
  const property = fc.asyncProperty(o.arbitrary, async (value) => {
    const index = runs++;
    try {
      const { req, answer } = await o.run(value);
      if (trace) appendFileSync(trace, `${o.name} #${index + 1} ${await traceLine(req, answer, o.client)}\n`);
      const code = errorCode(answer);
      const key = code ? `${answer.status}:${code}` : String(answer.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (isSuccess(answer)) successes++;
    } catch (error) {
      failedRun = index + 1;
      throw error;
    }
  });
  const timeLimit = Math.max(o.timeoutMs - 15_000, o.timeoutMs / 2);
  const replay = () => {
    const runsEnv = process.env.FUZZ_RUNS ? ` FUZZ_RUNS=${process.env.FUZZ_RUNS}` : '';
    return `Replay: FUZZ_SEED=${FUZZ_SEED}${runsEnv} npx vitest run ${file} (the whole file: its properties share one database). This property's seed is ${seed}, from FUZZ_SEED and ${JSON.stringify(o.name)}.`;
  };
  let details: fc.RunDetails<unknown>;
  try {
    details = await fc.check(property, {
      seed,
      // A replay sends the one input the path names (fast-check would go on from there).
      numRuns: replaying ? 1 : o.runs,
      endOnFailure: true,
      plugins: [fc.interruptAfterTimeLimit(timeLimit, { failOnInterrupt: true })],
      ...(replaying ? { path: process.env.FUZZ_PATH } : {}),
    });
  } catch (error) {
    // The time limit's plugin throws its own report ("Property interrupted after n tests").
    const message = error instanceof Error ? error.message : String(error);
    const where = /interrupted/i.test(message) ? `stopped after ${runs} of ${o.runs} runs, over its time limit of ${Math.round(timeLimit / 1000)} s` : `fast-check stopped at run #${runs}`;
    throw new Error(`${o.name}: ${where}\n${replay()}\n${message}`, { cause: error });
  }
  if (details.failed) {
    const where = details.interrupted
      ? `stopped after ${runs} of ${o.runs} runs, over its time limit of ${Math.round(timeLimit / 1000)} s`
      : replaying
        ? `failed on the replayed input (FUZZ_PATH=${process.env.FUZZ_PATH})`
        : `failed at run #${failedRun ?? runs} of ${o.runs} (fast-check path ${JSON.stringify(details.counterexamplePath)})`;
    const cause = details.errorInstance;
    const why = cause instanceof Error ? cause.message : cause === null || cause === undefined ? '' : String(cause);
    const alone = details.counterexamplePath && !replaying ? `\nThis input alone (reproduces a failure of the input itself, not one that needs what earlier runs wrote): add FUZZ_PATH=${details.counterexamplePath} and -t ${JSON.stringify(expect.getState().currentTestName?.split(' > ').pop() ?? o.name)}.` : '';
    throw new Error(`${o.name}: ${where}\n${why}\n\n${replay()}${alone}\n${fc.defaultReportMessage(details) ?? ''}`, { cause });
  }
  const min = o.minSuccesses ?? minSuccesses(o.runs);
  if (!replaying && successes < min) {
    throw new Error(
      `${o.name}: ${successes} of ${runs} answers were a success, at least ${min} expected: the inputs do not get past validation, so the handler behind it is not fuzzed.\n${describeStatuses(statuses)}\n${replay()}`,
    );
  }
  if (process.env.FUZZ_STATS) console.log(`${o.name}: ${describeStatuses(statuses)} (${successes} successes)`);
  return statuses;
}

function describeStatuses(statuses: Map<string, number>): string {
  return [...statuses]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// FUZZ_TRACE: the requests of a run, comparable between processes

const ID_TABLES: Record<string, string[]> = {
  ws: ['workspaces'],
  usr: ['users'],
  key: ['api_keys'],
  msg: ['outbox_messages', 'email_queue'],
  cmp: ['campaigns'],
  ct: ['contacts'],
  scr: ['consent_scripts'],
  call: ['calls'],
  seg: ['segments'],
  dsr: ['dsr_requests'],
  cv: ['conversions'],
};
const traceLabels = new Map<string, string>();

/**
 * Hono's decoding of a path parameter or a whole path (hono/dist/utils/url.js `tryDecode`):
 * decodeURIComponent, or where the text holds an invalid sequence, each valid run decoded alone.
 */
export function tryDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * One request as a line that two processes given the same seed must write identically: random
 * ids become their row's number in its table (the order the fixture created them in, so a pool
 * read in another order shows), the random parts of `unique()` values, signatures, tokens and
 * timestamps are masked, and long bodies are hashed.
 */
async function traceLine(req: Outgoing, answer: Answer, client: Client | undefined): Promise<string> {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['svix-timestamp', 'svix-signature'].includes(k)));
  let text = tryDecode(`${req.method} ${req.url} ${JSON.stringify(headers)} ${req.body ?? ''}`);
  const ids = [...new Set(text.match(/\b(?:ws|usr|key|msg|cmp|ct|scr|call|seg|dsr|cv|evt|aud|req)_[0-9a-f]{32}\b/g) ?? [])];
  for (const id of ids) {
    let label = traceLabels.get(id);
    if (!label) {
      const prefix = id.slice(0, id.indexOf('_'));
      for (const table of ID_TABLES[prefix] ?? []) {
        const row = client ? (await client.execute({ sql: `SELECT rowid FROM "${table}" WHERE id = ?`, args: [id] })).rows[0] : undefined;
        if (row) {
          label = `${table}#${String(row.rowid)}`;
          break;
        }
      }
      label ??= `${prefix}@${traceLabels.size}`;
      traceLabels.set(id, label);
    }
    text = text.replaceAll(id, `<${label}>`);
  }
  text = text
    // unique(): label-pid-counter-random → label-counter
    .replace(/\b([A-Za-z]+)-\d+-(\d+)-[a-z0-9]{1,6}\b/g, '$1-$2')
    // tokens, MACs, API keys, nonces: anything base64url-like and long (not a word of a path)...
    .replace(/[A-Za-z0-9_-]{12,}/g, (run) => (/^[a-z]+(?:-[a-z]+)*$/.test(run) ? run : '<b64>'))
    // ...and what is left of a token cut short next to one of its parts (bounded: these run
    // on 1 MB bodies, where an unbounded run before a lookahead would backtrack for minutes).
    .replace(/(<b64>\.)[A-Za-z0-9_-]{1,11}/g, '$1<b64>')
    .replace(/[A-Za-z0-9_-]{1,11}(?=\.<b64>)/g, '<b64>');
  const line = text.length > 400 ? `${text.slice(0, 200)}…#${createHash('sha256').update(text).digest('hex').slice(0, 16)}` : text;
  return `${line} → ${answer.status}`;
}
