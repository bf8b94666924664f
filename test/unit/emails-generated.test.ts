import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate, generatedPath } from '../../src/cli/bundle-emails.js';

describe('src/email/templates.generated.ts', () => {
  it('matches the MJML under emails/ (run `npm run emails` after editing them)', () => {
    expect(readFileSync(generatedPath, 'utf8')).toBe(generate());
  });
});
