import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from '../../src/env.js';

const key = JSON.stringify([{ kid: 'k1', secret: 'x'.repeat(32) }]);

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as EnvError).problems.map((p) => `${p.name}: ${p.message}`);
  }
  throw new Error('expected an EnvError');
}

describe('parseEnv', () => {
  it('gives the local defaults on Node', () => {
    const env = parseEnv({}, 'node');
    expect(env).toMatchObject({ PORT: 3000, DATABASE_URL: 'file:./data/local.db', DEMO: true, LOG_LEVEL: 'info' });
    expect(env.SIGNING_KEYS).toBeUndefined();
    expect(env.RESEND_API_KEY).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    const env = parseEnv({ PORT: '', RESEND_API_KEY: '  ' }, 'node');
    expect(env.PORT).toBe(3000);
    expect(env.RESEND_API_KEY).toBeUndefined();
  });

  it('parses signing keys and flags', () => {
    const env = parseEnv({ SIGNING_KEYS: key, DEMO: 'off', PORT: '8080' }, 'node');
    expect(env.SIGNING_KEYS).toEqual([{ kid: 'k1', secret: 'x'.repeat(32) }]);
    expect(env.DEMO).toBe(false);
    expect(env.PORT).toBe(8080);
  });

  it('takes several webhook secrets separated by spaces, each a whsec_ secret', () => {
    expect(parseEnv({ RESEND_WEBHOOK_SECRET: ' whsec_new  whsec_old ' }, 'node').RESEND_WEBHOOK_SECRET).toBe('whsec_new  whsec_old');
    expect(problems(() => parseEnv({ RESEND_WEBHOOK_SECRET: 'whsec_new old' }, 'node'))).toEqual([
      'RESEND_WEBHOOK_SECRET: must be Svix secrets (each starts with whsec_), separated by spaces',
    ]);
  });

  it('names each bad variable and why', () => {
    const found = problems(() =>
      parseEnv(
        { PORT: 'eighty', DEMO: 'maybe', RESEND_API_KEY: 'sk_live', PUBLIC_BASE_URL: 'news.example.com', SIGNING_KEYS: '[{"kid":"a","secret":"short"}]' },
        'node',
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^DEMO: must be one of/),
        expect.stringMatching(/^RESEND_API_KEY: must be a Resend API key/),
        expect.stringMatching(/^PUBLIC_BASE_URL: must be an absolute URL/),
        expect.stringMatching(/^SIGNING_KEYS\.0\.secret: secret must be at least 32 characters/),
      ]),
    );
  });

  it('refuses SIGNING_KEYS that are not JSON, empty, or with duplicate kids', () => {
    expect(problems(() => parseEnv({ SIGNING_KEYS: 'not json' }, 'node'))[0]).toMatch(/^SIGNING_KEYS: must be JSON/);
    expect(problems(() => parseEnv({ SIGNING_KEYS: '[]' }, 'node'))[0]).toMatch(/at least one key/);
    const dup = JSON.stringify([
      { kid: 'a', secret: 'x'.repeat(32) },
      { kid: 'a', secret: 'y'.repeat(32) },
    ]);
    expect(problems(() => parseEnv({ SIGNING_KEYS: dup }, 'node'))[0]).toMatch(/kids must be unique/);
  });

  it('requires the Turso URL, signing keys and public URL on Workers, and no file: database there', () => {
    const found = problems(() => parseEnv({}, 'worker'));
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^DATABASE_URL: /), expect.stringMatching(/^SIGNING_KEYS: /), expect.stringMatching(/^PUBLIC_BASE_URL: .*outside any request/)]),
    );
    const base = 'https://news.example.com';
    expect(problems(() => parseEnv({ DATABASE_URL: 'file:./x.db', SIGNING_KEYS: key, PUBLIC_BASE_URL: base }, 'worker'))[0]).toMatch(/no local files/);
    const env = parseEnv({ DATABASE_URL: 'libsql://db-org.turso.io', SIGNING_KEYS: key, PUBLIC_BASE_URL: base }, 'worker');
    expect(env.DEMO).toBe(false);
  });

  it('explains where to look in its message', () => {
    try {
      parseEnv({ PORT: '-1' }, 'node');
    } catch (error) {
      expect((error as Error).message).toContain('Invalid environment:\n  - PORT:');
      expect((error as Error).message).toContain('README.md');
    }
  });
});
