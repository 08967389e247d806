import { describe, expect, it } from "vitest";
import { BufferPool, MIN_POOLED_BYTES } from "../../src/buffer-pool.js";

describe("BufferPool", () => {
  it("hands back the same memory for the same size class, sized as asked", () => {
    const pool = new BufferPool(8 * 1024 * 1024);
    const a = pool.take(1024 * 1024 - 5);
    expect(a.length).toBe(1024 * 1024 - 5);
    pool.give(a);
    expect(pool.pooledBytes).toBe(1024 * 1024);
    const b = pool.take(700 * 1024);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(700 * 1024);
    expect(pool.pooledBytes).toBe(0);
  });

  it("ignores buffers it did not make, and a second give of the same one", () => {
    const pool = new BufferPool(8 * 1024 * 1024);
    pool.give(Buffer.alloc(MIN_POOLED_BYTES * 4));
    expect(pool.pooledBytes).toBe(0);
    const a = pool.take(MIN_POOLED_BYTES);
    pool.give(a);
    pool.give(a);
    expect(pool.pooledBytes).toBe(MIN_POOLED_BYTES);
    expect(pool.take(MIN_POOLED_BYTES).buffer).toBe(a.buffer);
    expect(pool.take(MIN_POOLED_BYTES).buffer).not.toBe(a.buffer);
  });

  it("keeps at most maxPooledBytes idle, and never pools small buffers", () => {
    const pool = new BufferPool(2 * 1024 * 1024);
    const taken = [pool.take(1024 * 1024), pool.take(1024 * 1024), pool.take(1024 * 1024)];
    for (const b of taken) pool.give(b);
    expect(pool.pooledBytes).toBe(2 * 1024 * 1024);
    const small = pool.take(100);
    pool.give(small);
    expect(pool.pooledBytes).toBe(2 * 1024 * 1024);
  });
});
