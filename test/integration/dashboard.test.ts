import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { nodeCluster } from "../helpers/node-fixtures.js";
import { waitFor } from "../helpers/wait-for.js";
import { insertBlocks, launchChromium, startLoad } from "./dashboard-fixtures.js";
import { scrape, valueOf, type PromSample } from "./metrics-fixtures.js";

const BLOCK = 4 * 1024;

// Functions passed to page.evaluate run in the browser; this project compiles without the DOM lib.
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  readonly body: PageElement;
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
const SCREENSHOT = fileURLToPath(new URL("../../test-results/dashboard.png", import.meta.url));

interface PageState {
  readonly seq: number;
  readonly nodes: { id: string; href: string | null }[];
  readonly hits: number;
  readonly misses: number;
  readonly ratio: number;
  readonly ratioText: string;
  readonly tiers: { tier: string; bytes: number; items: number; capacity: number | null }[];
}

describe("dashboard", () => {
  it("shows live nodes, tier usage and a hit ratio consistent with /metrics while under load", async () => {
    // Memory holds 16 blocks and disk 32: the 64 blocks below fill both and spill 16 to S3.
    const cluster = await nodeCluster({ memory: { capacityBytes: 16 * BLOCK }, disk: { capacityBytes: 32 * BLOCK }, cluster: { sweepIntervalMs: 3_600_000 } });
    const [node, other] = await Promise.all([cluster.startNode(), cluster.startNode()]);
    const peer = cluster.client(node);
    const blocks = await insertBlocks(cluster, peer, 64, BLOCK);
    const load = startLoad(peer, blocks);
    cleanupAfterTest(() => load.stop());
    const browser = await launchChromium();
    cleanupAfterTest(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${node.adminUrl}/dashboard`);

    // Live: two nodes listed, a few samples of throughput, spills in the recent moves.
    await page.waitForFunction(() => document.querySelectorAll("#live-nodes li").length === 2, undefined, { timeout: 20_000 });
    await waitFor(async () => (await summarySeries(node.adminUrl)) >= 3 && load.ops() > 200, { what: "3 samples under load", timeoutMs: 20_000 });
    await page.waitForFunction(() => Number(document.body.dataset["seq"]) >= 3 && document.querySelector("#ops-spark polyline") !== null, undefined, { timeout: 20_000 });

    const { before, state, after } = await readBetweenScrapes(page, node.adminUrl);
    expect(state.nodes).toEqual([
      { id: node.nodeId, href: `${node.adminUrl}/dashboard` },
      { id: other.nodeId, href: `${other.adminUrl}/dashboard` },
    ].sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(valueOf(after, "kvcache_live_nodes")).toBe(2);
    expectCountBetween(state.hits, before, after, { op: "node_get", result: "hit" });
    expectCountBetween(state.misses, before, after, { op: "node_get", result: "miss" });
    expect(state.hits).toBeGreaterThan(0);
    expect(state.misses).toBeGreaterThan(0);
    expect(state.ratio).toBeCloseTo(state.hits / (state.hits + state.misses), 12);
    expect(state.ratioText).toBe(`${(state.ratio * 100).toFixed(1)}%`);
    for (const tier of ["memory", "disk"]) expectTierConsistent(state, before, after, tier);
    expect(state.tiers.map((t) => t.tier)).toEqual(["memory", "disk", "s3"]);

    expect(await page.locator("#move-totals [data-reason=spilled]").textContent()).toMatch(/^spilled \d+/);
    expect(await page.locator("#events tbody tr").count()).toBeGreaterThan(0);
    expect(await page.locator("#status").getAttribute("data-state")).toBe("ok");
    await mkdir(fileURLToPath(new URL(".", `file://${SCREENSHOT}`)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Each node's dashboard is linked from the others'.
    await page.click(`#live-nodes li[data-node-id="${other.nodeId}"] a`);
    await page.waitForFunction((id) => document.getElementById("node-id")?.textContent?.startsWith(id) === true, other.nodeId, { timeout: 20_000 });
    await load.stop();
  });
});

async function summarySeries(adminUrl: string): Promise<number> {
  const summary = (await (await fetch(`${adminUrl}/api/summary`)).json()) as { series: unknown[] };
  return summary.series.length;
}

/**
 * Scrapes /metrics, then reads the page once it has redrawn twice (so its data
 * was fetched after that scrape), then scrapes again: every counter the page
 * shows must lie between the two scrapes.
 */
async function readBetweenScrapes(page: Page, adminUrl: string): Promise<{ before: PromSample[]; state: PageState; after: PromSample[] }> {
  const before = await scrape(adminUrl);
  const seq0 = await page.evaluate(() => Number(document.body.dataset["seq"]));
  await page.waitForFunction((s) => Number(document.body.dataset["seq"]) >= s + 2, seq0, { timeout: 20_000 });
  const state = await page.evaluate(readPage);
  const after = await scrape(adminUrl);
  expect(state.seq).toBeGreaterThanOrEqual(seq0 + 2);
  return { before, state, after };
}

/** Runs in the page: the numbers it shows, from one redraw. */
function readPage(): PageState {
  const ratio = document.getElementById("hit-ratio")!;
  const num = (v: string | undefined): number => Number(v);
  return {
    seq: num(document.body.dataset["seq"]),
    nodes: [...document.querySelectorAll("#live-nodes li")].map((li) => ({ id: li.dataset["nodeId"]!, href: li.querySelector("a")?.getAttribute("href") ?? null })),
    hits: num(ratio.dataset["hits"]),
    misses: num(ratio.dataset["misses"]),
    ratio: num(ratio.dataset["ratio"]),
    ratioText: ratio.textContent ?? "",
    tiers: [...document.querySelectorAll("#tiers .tier")].map((t) => ({
      tier: t.dataset["tier"]!,
      bytes: num(t.dataset["bytes"]),
      items: num(t.dataset["items"]),
      capacity: t.dataset["capacity"] === "" ? null : num(t.dataset["capacity"]),
    })),
  };
}

function expectCountBetween(shown: number, before: PromSample[], after: PromSample[], labels: Record<string, string>): void {
  const [low, high] = [valueOf(before, "kvcache_requests_total", labels), valueOf(after, "kvcache_requests_total", labels)];
  expect(shown, JSON.stringify(labels)).toBeGreaterThanOrEqual(low);
  expect(shown, JSON.stringify(labels)).toBeLessThanOrEqual(high);
}

/** Capacity exact; usage within one block of the range the two scrapes saw (blocks move while we look). */
function expectTierConsistent(state: PageState, before: PromSample[], after: PromSample[], tier: string): void {
  const shown = state.tiers.find((t) => t.tier === tier);
  expect(shown, tier).toBeDefined();
  expect(shown!.capacity).toBe(valueOf(after, "kvcache_tier_capacity_bytes", { tier }));
  const bytes = [before, after].map((m) => valueOf(m, "kvcache_tier_bytes", { tier }));
  const items = [before, after].map((m) => valueOf(m, "kvcache_tier_items", { tier }));
  expect(shown!.bytes).toBeGreaterThanOrEqual(Math.min(...bytes) - BLOCK);
  expect(shown!.bytes).toBeLessThanOrEqual(Math.min(Math.max(...bytes) + BLOCK, shown!.capacity!));
  expect(shown!.items).toBeGreaterThanOrEqual(Math.min(...items) - 1);
  expect(shown!.items).toBeLessThanOrEqual(Math.max(...items) + 1);
  expect(shown!.bytes).toBeGreaterThan(shown!.capacity! / 2);
}
