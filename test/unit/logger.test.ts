import { describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/lib/logger.js';

describe('jsonLogger', () => {
  it('keeps the failed SQL of a database error but never its values (addresses, bodies), in messages and stacks', () => {
    const lines: string[] = [];
    const logger = jsonLogger('info', (line) => lines.push(line));
    // drizzle's DrizzleQueryError message, as wrapped around a driver error.
    const error = new Error('Failed query: insert into "contacts" ("id", "email") values (?, ?)\nparams: ct_1,lea.martin@example.test,<p>Bonjour\nLéa</p>');
    logger.error('unhandled error', { error: `${error.name}: ${error.message}`, stack: error.stack, path: '/api/v1/consents' });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, string>;
    expect(lines[0]).not.toContain('lea.martin');
    expect(lines[0]).not.toContain('Bonjour');
    expect(entry.error).toBe('Error: Failed query: insert into "contacts" ("id", "email") values (?, ?)\nparams: [not logged]');
    expect(entry.stack).toMatch(/params: \[not logged\]\n\s+at /);
    expect(entry.path).toBe('/api/v1/consents');
  });
});
