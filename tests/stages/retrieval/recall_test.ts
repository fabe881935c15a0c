import { deepStrictEqual as assertEquals, throws } from "node:assert";
import { pairedRecall, pairRanks, recallFromRanks } from "../../../stages/retrieval/recall.ts";

Deno.test("pairRanks: 0-based rank of the correct item, ties broken by gallery index", () => {
  const ids = [0, 1, 2];
  // query 0: item 0 is best → 0; query 1: item 1 ties item 0 (0.5) and item 0 wins the tie → 1;
  // query 2: items 0 and 1 score higher → 2.
  const s = [0.9, 0.1, 0.2, 0.5, 0.5, 0.1, 0.8, 0.7, 0.3];
  assertEquals(Array.from(pairRanks(s, { queryId: ids, galleryId: ids })), [0, 1, 2]);
  // a tie with a later gallery item does not push the correct item down
  assertEquals(Array.from(pairRanks([0.5, 0.5], { queryId: [0], galleryId: [0, 1] })), [0]);
});

Deno.test("pairRanks: with several texts per image, an image query takes its best text", () => {
  // gallery = 4 texts, texts 0,1 belong to image 0 and texts 2,3 to image 1
  const s = [0.1, 0.6, 0.9, 0.2, /* image 1: */ 0.8, 0.7, 0.1, 0.75];
  const r = pairRanks(s, { queryId: [0, 1], galleryId: [0, 0, 1, 1] });
  assertEquals(Array.from(r), [1, 1]); // image 0: text 1 second; image 1: text 3 second
  throws(() => pairRanks([1, 2], { queryId: [5], galleryId: [0, 1] }), /no correct gallery item/);
});

Deno.test("R@K, medr and meanr follow vsepp's evaluation.py on hand-computed ranks", () => {
  // ranks (0-based) 0, 0, 3, 7, 12: R@1 2/5, R@5 3/5, R@10 4/5; median 3 → medr 4; mean 4.4 → 5.4
  assertEquals(recallFromRanks([12, 0, 3, 0, 7]), {
    r1: 0.4,
    r5: 0.6,
    r10: 0.8,
    medr: 4,
    meanr: 5.4,
  });
  // even count: numpy's median averages the middle two: (1 + 2)/2 = 1.5 → floor + 1 = 2
  assertEquals(recallFromRanks([0, 1, 2, 9]).medr, 2);
});

Deno.test("pairedRecall: a perfect and a reversed ranking", () => {
  const n = 12;
  const eye = Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
  const p = pairedRecall(eye, eye);
  assertEquals(p.i2t, { r1: 1, r5: 1, r10: 1, medr: 1, meanr: 1 });
  const worst = eye.map((v) => -v);
  // every correct item is last: rank n − 1 → medr = meanr = n
  assertEquals(pairedRecall(worst, worst).t2i, { r1: 0, r5: 0, r10: 0, medr: n, meanr: n });
});
