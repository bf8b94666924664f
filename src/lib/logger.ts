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
 * people's addresses, names and whole email bodies. Logs keep the SQL (enough to find the
 * bug) and drop the values (GDPR Art. 5(1)(c), data minimisation), in messages and stacks alike.
 */
const QUERY_PARAMS = /\nparams: [\s\S]*?(?=\n\s+at |$)/g;
export function withoutQueryParams(text: string): string {
  return text.replace(QUERY_PARAMS, '\nparams: [not logged]');
}

export function jsonLogger(level: LogLevel = 'info', write: (line: string) => void = console.log): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent' | 'debug'>, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }, (_key, value: unknown) => (typeof value === 'string' ? withoutQueryParams(value) : value)));
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
