// Child of test/process/heap.test.ts (run with --allow-natives-syntax): makes objects from one object
// literal that all stay alive, the case V8's allocation-site pretenuring looks for, then reports
// where fresh objects from that literal are allocated. `tuned` first calls tuneHeap() as skitaid does.
import { tuneHeap } from '../../src/process/heap.js';

if (process.argv[2] === 'tuned') tuneHeap();
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8 natives syntax cannot be written in TypeScript
const inYoung = new Function('o', 'return %InYoungGeneration(o)') as (o: object) => boolean;
const make = (i: number): { i: number } => ({ i });
const kept: object[] = [];
for (let i = 0; i < 3_000_000; i++) kept.push(make(i));
let young = 0;
for (let i = 0; i < 100; i++) if (inYoung(make(i))) young++;
console.log(JSON.stringify({ kept: kept.length, young }));
