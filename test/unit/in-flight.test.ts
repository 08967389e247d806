import { describe, expect, it } from "vitest";
import { InFlight } from "../../storage/in-flight.js";
import type { Block, BlockId } from "../../src/block.js";
import type { BlockTier } from "../../storage/block-tier.js";
import type { LocationTracker } from "../../metadata/location-tracker.js";
import { silentLogger } from "../../src/node/logger.js";
import { WriteThrough } from "../../src/node/write-through.js";

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Resolves `true` when `p` has settled by the time already-queued callbacks have run, else `false`. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true), () => (settled = true));
  await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

describe("InFlight", () => {
  it("returns the tracked work unchanged, value and rejection alike", async () => {
    const ops = new InFlight();
    await expect(ops.track(Promise.resolve(42))).resolves.toBe(42);
    const failure = new Error("boom");
    await expect(ops.track(Promise.reject(failure))).rejects.toBe(failure);
    await expect(ops.drain()).resolves.toBeUndefined();
  });

  it("drains at once when nothing runs", async () => {
    expect(await settledSoon(new InFlight().drain())).toBe(true);
  });

  it("drain waits for every operation, failed ones included, and for work started while waiting", async () => {
    const ops = new InFlight();
    const [a, b, c] = [deferred(), deferred(), deferred()];
    void ops.track(a.promise);
    ops.track(b.promise).catch(() => undefined);
    const drained = ops.drain();
    a.resolve();
    expect(await settledSoon(drained)).toBe(false);
    void ops.track(c.promise); // started while close() waits
    b.reject(new Error("failed"));
    expect(await settledSoon(drained)).toBe(false);
    c.resolve();
    expect(await settledSoon(drained)).toBe(true);
  });

  it("serves several drains at once, and can be drained again later", async () => {
    const ops = new InFlight();
    const a = deferred();
    void ops.track(a.promise);
    const [first, second] = [ops.drain(), ops.drain()];
    a.resolve();
    expect(await Promise.all([settledSoon(first), settledSoon(second)])).toEqual([true, true]);
    const b = deferred();
    void ops.track(b.promise);
    const third = ops.drain();
    expect(await settledSoon(third)).toBe(false);
    b.resolve();
    expect(await settledSoon(third)).toBe(true);
  });
});

describe("WriteThrough.close", () => {
  it("lets the upload in flight finish and drops the queued ones without waiting for them", async () => {
    const started: BlockId[] = [];
    const release = deferred();
    const s3 = { put: async (id: BlockId) => { started.push(id); await release.promise; } } as unknown as BlockTier;
    const tracker = { storedInS3: async () => true } as unknown as LocationTracker;
    const uploads = new WriteThrough({ s3, tracker, concurrency: 1, logger: silentLogger });
    const block: Block = { data: new Uint8Array(4), checksum: 0 };
    for (const id of ["a", "b", "c"]) uploads.schedule(id as BlockId, block);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(started).toEqual(["a"]);
    const closed = uploads.close();
    expect(await settledSoon(closed)).toBe(false); // "a" is still uploading
    release.resolve();
    expect(await settledSoon(closed)).toBe(true); // "b" and "c" were dropped, not awaited
    expect(started).toEqual(["a"]);
  });
});
