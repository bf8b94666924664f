/**
 * Fuzzing the public token routes, part 1 (issue 10, item 1): the pixel, the click redirect,
 * the double opt-in confirmation, unsubscribe and the preference centre; also checks that the
 * fuzzed list covers every token route the app registers. The generators, the routes and the
 * invariants are in test/helpers/fuzz-public.ts and test/helpers/fuzz.ts.
 */
import { definePublicFuzz } from '../helpers/fuzz-public.js';

await definePublicFuzz({ part: 1, runs: 2000 });
