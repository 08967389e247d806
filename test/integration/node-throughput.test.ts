import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type Block } from "../../src/block.js";
import { spawnChild, unlessExited } from "../helpers/child.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { nodeCluster } from "../helpers/node-fixtures.js";
import { waitFor } from "../helpers/wait-for.js";

const MiB = 1024 * 1024;
const CONCURRENCY = 8;
const ROUNDS = 48;

/** A raw TCP server process answering every byte received with `MiB` bytes: the loopback baseline. */
const RAW_SERVER = `
const net = require("node:net");
const reply = Buffer.alloc(${MiB}, 7);
const server = net.createServer({ noDelay: true }, (s) => s.on("data", (c) => { for (let i = 0; i < c.length; i++) s.write(reply); }));
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
`;

async function rawLoopbackMiBps(port: number): Promise<number> {
  const worker = async (): Promise<number> => {
    const socket = connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise((resolve) => socket.once("connect", resolve));
    let received = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const target = received + MiB;
      const done = new Promise<void>((resolve) => {
        const onData = (c: Buffer): void => {
          received += c.length;
          if (received >= target) {
            socket.off("data", onData);
            resolve();
          }
        };
        socket.on("data", onData);
      });
      socket.write("x");
      await done;
    }
    socket.destroy();
    return received;
  };
  const start = performance.now();
  const bytes = (await Promise.all(Array.from({ length: CONCURRENCY }, worker))).reduce((a, b) => a + b, 0);
  return bytes / MiB / ((performance.now() - start) / 1000);
}

describe("PeerClient throughput (measured, reported on stdout)", () => {
  it(`GETs 1 MiB blocks, ${CONCURRENCY} concurrent, against a node on loopback, every reply verified`, async () => {
    const cluster = await nodeCluster({ memory: { capacityBytes: 64 * MiB } });
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const blocks: [string, Block][] = Array.from({ length: 16 }, () => [newBlockId(), makeBlock(randomBytes(MiB))]);
    for (const [id, block] of blocks) await peer.put(id, block);
    for (const [id] of blocks) await peer.get(id); // warm up connections and JIT

    let verified = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let r = 0; r < ROUNDS; r++) {
        const [id, block] = blocks[(w + r) % blocks.length]!;
        const got = await peer.get(id);
        if (got?.checksum === block.checksum && got.data.length === MiB) verified++;
      }
    }));
    const peerMiBps = (CONCURRENCY * ROUNDS) / ((performance.now() - start) / 1000);
    expect(verified).toBe(CONCURRENCY * ROUNDS);

    let port: number | undefined;
    const raw = spawnChild(process.execPath, ["-e", RAW_SERVER], { onStdout: (t) => (port ??= Number(/PORT (\d+)/.exec(t)?.[1]) || undefined) });
    cleanupAfterTest(() => raw.kill("SIGKILL"));
    await unlessExited(raw, "raw TCP server", (signal) => waitFor(() => port, { what: "raw server port", signal }));
    const rawMiBps = await rawLoopbackMiBps(port!);
    console.log(`PeerClient GET 1 MiB x${CONCURRENCY}: ${peerMiBps.toFixed(0)} MiB/s; raw loopback TCP: ${rawMiBps.toFixed(0)} MiB/s; ratio ${(peerMiBps / rawMiBps).toFixed(2)}`);
    expect(rawMiBps).toBeGreaterThan(0);
  });
});
