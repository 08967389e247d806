import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { newBlockId } from "../../src/block.js";
import type { PeerClient } from "../../sdk/peer-client.js";
import type { InsertedBlock, NodeCluster } from "../helpers/node-fixtures.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Debian's Chromium, headless. Fails (never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the dashboard test drives Debian's Chromium; install it with \`apt-get install -y chromium\``);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
}

export interface Load {
  /** Operations done so far. */
  readonly ops: () => number;
  /** Stops the loop and resolves once its last operation settled; rethrows what the loop failed with. */
  stop(): Promise<void>;
}

/**
 * A steady, bounded workload on one node: GETs of random stored blocks (hits
 * in whichever tier holds them, so blocks keep moving between tiers) and one
 * GET in four of a block that does not exist (a miss). It stores nothing new,
 * so what it leaves behind stays the size of `blocks`. At most `maxOps` operations.
 */
export function startLoad(peer: PeerClient, blocks: readonly InsertedBlock[], maxOps = 200_000): Load {
  let [ops, stopped] = [0, false];
  const loop = (async () => {
    while (!stopped && ops < maxOps) {
      const miss = ops % 4 === 3;
      const got = await peer.get(miss ? newBlockId() : blocks[Math.floor(Math.random() * blocks.length)]!.id);
      if ((got === undefined) !== miss) throw new Error(`load: GET ${ops} expected a ${miss ? "miss" : "hit"}`);
      ops += 1;
    }
  })();
  return {
    ops: () => ops,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Inserts `count` blocks of `size` random bytes, one after another (so tiers fill in order). */
export async function insertBlocks(cluster: NodeCluster, peer: PeerClient, count: number, size: number): Promise<InsertedBlock[]> {
  const out: InsertedBlock[] = [];
  for (let i = 0; i < count; i++) out.push(await cluster.insert(peer, `dashboard/${i}`, Buffer.from(crypto.getRandomValues(new Uint8Array(size)))));
  return out;
}
