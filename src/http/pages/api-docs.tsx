/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { AppEnv } from '../env.js';
import { Layout } from './layout.js';

interface OpenApiDoc {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, { summary?: string; description?: string; tags?: string[]; requestBody?: unknown; parameters?: unknown[]; responses?: Record<string, { description?: string }> }>>;
}

/**
 * A readable rendering of /api/openapi.json, server-side and self-contained (no CDN script:
 * it works offline, on Workers, and under our CSP). Tools can use the JSON directly.
 */
export function apiDocsPage(getDocument: () => OpenApiDoc) {
  return new Hono<AppEnv>().get('/api/docs', (c) => {
    const doc = getDocument();
    const byTag = new Map<string, { method: string; path: string; op: OpenApiDoc['paths'][string][string] }[]>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const tag = op.tags?.[0] ?? 'Other';
        byTag.set(tag, [...(byTag.get(tag) ?? []), { method: method.toUpperCase(), path, op }]);
      }
    }
    return c.html(
      <Layout title="API">
        <h1>
          {doc.info.title} <span class="muted">v{doc.info.version}</span>
        </h1>
        <p class="lead">{doc.info.description}</p>
        <p>
          <a href="/api/openapi.json">openapi.json</a>
        </p>
        {[...byTag.entries()].map(([tag, ops]) => (
          <section class="card">
            <h2>{tag}</h2>
            {ops.map(({ method, path, op }) => (
              <details>
                <summary>
                  <span class="method">{method}</span> <code>/api/v1{path}</code> · {op.summary}
                </summary>
                {op.description && <p class="pre-line">{op.description}</p>}
                {op.parameters && op.parameters.length > 0 && (
                  <>
                    <h3>Parameters</h3>
                    <pre>{JSON.stringify(op.parameters, null, 2)}</pre>
                  </>
                )}
                {op.requestBody !== undefined && (
                  <>
                    <h3>Body</h3>
                    <pre>{JSON.stringify(op.requestBody, null, 2)}</pre>
                  </>
                )}
                <h3>Responses</h3>
                <ul>
                  {Object.entries(op.responses ?? {}).map(([status, r]) => (
                    <li>
                      <code>{status}</code> {r.description}
                    </li>
                  ))}
                </ul>
              </details>
            ))}
          </section>
        ))}
      </Layout>,
    );
  });
}
