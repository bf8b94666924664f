import { describe, expect, it } from 'vitest';
import { DrizzleQueryError } from 'drizzle-orm/errors';
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

  it('describes an error given as is from its structure: the query without its values, then each cause with its code', () => {
    const lines: string[] = [];
    const logger = jsonLogger('info', (line) => lines.push(line));
    // A value that looks like a stack frame line must not end the redaction early.
    const values = ['lea.martin@example.test', 'Rendez-vous à Rome\n    at 9h, Léa Martin, 12 rue X'];
    const driver = Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });
    const error = new DrizzleQueryError('insert into "contacts" ("email", "note") values (?, ?)', values, driver);
    logger.error('batch will be retried', { error, text: String(error) });
    expect(lines[0]).not.toContain('lea.martin');
    expect(lines[0]).not.toContain('Léa Martin');
    const entry = JSON.parse(lines[0]!) as Record<string, string>;
    expect(entry.error).toBe(
      'Error: Failed query: insert into "contacts" ("email", "note") values (?, ?)\nparams: [not logged] <- Error SQLITE_FULL: SQLITE_FULL: database or disk is full',
    );
    expect(entry.text).toBe('Error: Failed query: insert into "contacts" ("email", "note") values (?, ?)\nparams: [not logged]');
  });
});
