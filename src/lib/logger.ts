/** Structured logs: one JSON object per line, so both `node` and Workers logs can be queried. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/**
 * drizzle's query errors read "Failed query: <sql>\nparams: <values>", and the values are
 * people's addresses, names and whole email bodies. Logs keep the SQL (enough to find the bug)
 * and drop the values (GDPR Art. 5(1)(c), data minimisation).
 *
 * Errors given to the logger as they are (`{ error }`) are described from their structure:
 * drizzle's `query` without its `params`, then each `cause` with its driver code. Text that
 * already quotes such a message is cut from "params:" to its end, or to the next stack frame.
 */
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n {4}at [^\n]*:\d+:\d+\)?(?:\n|$)|$)/g;
export function withoutQueryParams(text: string): string {
  return text.replace(QUERY_PARAMS, '\nparams: [not logged]');
}

function messageOf(error: Error): string {
  const { query } = error as { query?: unknown };
  if (typeof query === 'string' && 'params' in error) return `Failed query: ${query}\nparams: [not logged]`;
  return withoutQueryParams(error.message);
}

/** "Name code: message <- Cause code: message …", innermost last, never a query's values. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = e instanceof Error ? e.cause : undefined, depth++) {
    if (!(e instanceof Error)) {
      parts.push(withoutQueryParams(String(e)));
      break;
    }
    const { code } = e as { code?: unknown };
    parts.push(`${e.name}${typeof code === 'string' ? ` ${code}` : ''}: ${messageOf(e)}`);
  }
  return parts.join(' <- ');
}

/** The stack, its first line's message cleaned the same way. */
export function stackOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !error.stack) return undefined;
  return error.stack.replace(error.message, () => messageOf(error));
}

export function jsonLogger(level: LogLevel = 'info', write: (line: string) => void = console.log): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent' | 'debug'>, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }, (_key, value: unknown) => (value instanceof Error ? describeError(value) : typeof value === 'string' ? withoutQueryParams(value) : value)));
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
