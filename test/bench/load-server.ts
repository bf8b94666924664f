/**
 * The Node entry (src/node.ts) exactly as `npm start` runs it, plus a once-a-second report of
 * process.memoryUsage() to the parent over IPC: the load bench samples the server's memory apart
 * from the load generator's. Nothing else differs (same env parsing, buffered hit sink, mail
 * queue, graceful SIGTERM shutdown).
 * Usage: spawned by test/bench/load.bench.ts with stdio ['ignore', 'pipe', 'pipe', 'ipc'].
 */
const report = () => process.send?.({ at: Date.now(), ...process.memoryUsage() });
setInterval(report, 1_000).unref();
// The IPC channel must not keep the process alive: src/node.ts decides when it exits.
process.channel?.unref();
report();

await import('../../src/node.js');

export {};
