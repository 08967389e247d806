import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeferredBatch } from "../../sdk/deferred-batch.js";

describe("DeferredBatch", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function recorder(): { sent: number[][]; send: (items: number[]) => Promise<void> } {
    const sent: number[][] = [];
    return { sent, send: async (items) => void sent.push(items) };
  }

  it("sends what gathered once the delay has passed since the first item, not before", () => {
    const r = recorder();
    const batch = new DeferredBatch(250, 4, r.send);
    batch.add(1);
    vi.advanceTimersByTime(200);
    batch.add(2);
    vi.advanceTimersByTime(49);
    expect(r.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.sent).toEqual([[1, 2]]);
    vi.advanceTimersByTime(1000);
    expect(r.sent).toEqual([[1, 2]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sends at once when a frame's worth has gathered", () => {
    const r = recorder();
    const batch = new DeferredBatch(250, 3, r.send);
    for (const n of [1, 2, 3, 4]) batch.add(n);
    expect(r.sent).toEqual([[1, 2, 3]]);
    vi.advanceTimersByTime(250);
    expect(r.sent).toEqual([[1, 2, 3], [4]]);
  });

  it("hands items over to ride on another message, and then has nothing left to send", () => {
    const r = recorder();
    const batch = new DeferredBatch(20, 2, r.send);
    expect(batch.take()).toEqual([]);
    batch.add(7);
    expect(batch.take()).toEqual([7]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(r.sent).toEqual([]);
  });

  it("drain sends everything waiting in frames of at most max, with no timer left behind", async () => {
    const r = recorder();
    const batch = new DeferredBatch(250, 2, r.send);
    batch.add(1);
    await batch.drain();
    expect(r.sent).toEqual([[1]]);
    batch.add(2);
    batch.add(3); // a full frame: sent at once
    batch.add(4);
    await batch.drain();
    expect(r.sent).toEqual([[1], [2, 3], [4]]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
