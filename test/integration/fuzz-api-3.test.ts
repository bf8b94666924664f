/**
 * Fuzzing every operation of the OpenAPI document (issue 10, item 1), shard 3 of 3: see
 * fuzz-api.test.ts and test/helpers/fuzz-api.ts.
 */
import { defineApiFuzz } from '../helpers/fuzz-api.js';

await defineApiFuzz({ shard: 2, shards: 3, runs: 2000, msPerRun: 3 });
