import { describe, expect, it } from "vitest";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import type { NodeInfo } from "../../metadata/metadata-store.js";
import { ClusterPeerDirectory } from "../../sdk/cluster-directory.js";
import { FakePeer } from "./sdk-fakes.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";

const node = (nodeId: string, address = `127.0.0.1:${nodeId.length}`): NodeInfo => ({ nodeId, address, adminAddress: "", startedAt: 1 });

async function setup() {
  const metadata = new MemoryMetadataStore();
  cleanupAfterTest(() => metadata.close());
  const made: { info: NodeInfo; peer: FakePeer }[] = [];
  const factory = (info: NodeInfo): FakePeer => {
    const peer = new FakePeer(info.nodeId);
    made.push({ info, peer });
    return peer;
  };
  return { metadata, made, factory };
}

describe("ClusterPeerDirectory", () => {
  it("lists the nodes live at open, with one client each", async () => {
    const { metadata, made, factory } = await setup();
    await metadata.registerNode(node("b"), 10);
    await metadata.registerNode(node("a"), 10);
    const directory = await ClusterPeerDirectory.open(metadata, factory);
    cleanupAfterTest(() => directory.close());
    expect(directory.nodes().map((n) => n.nodeId)).toEqual(["a", "b"]);
    expect(made).toHaveLength(2);
    expect(directory.peer("a")).toBe(made.find((m) => m.info.nodeId === "a")?.peer);
    expect(directory.peer("zz")).toBeUndefined();
  });

  it("follows joins and leaves, closing the clients of departed nodes", async () => {
    const { metadata, made, factory } = await setup();
    const directory = await ClusterPeerDirectory.open(metadata, factory);
    cleanupAfterTest(() => directory.close());
    expect(directory.nodes()).toEqual([]);
    const registration = await metadata.registerNode(node("c"), 10);
    expect(directory.nodes().map((n) => n.nodeId)).toEqual(["c"]);
    await registration.close();
    expect(directory.nodes()).toEqual([]);
    expect(directory.peer("c")).toBeUndefined();
    expect(made[0]?.peer.closed).toBe(true);
  });

  it("a node back on another address gets a new client; close closes every client", async () => {
    const { metadata, made, factory } = await setup();
    const first = await metadata.registerNode(node("d", "127.0.0.1:1000"), 10);
    const directory = await ClusterPeerDirectory.open(metadata, factory);
    await first.close();
    await metadata.registerNode(node("d", "127.0.0.1:2000"), 10);
    expect(directory.nodes()).toEqual([node("d", "127.0.0.1:2000")]);
    expect(made.map((m) => m.info.address)).toEqual(["127.0.0.1:1000", "127.0.0.1:2000"]);
    await directory.close();
    await directory.close();
    expect(made.every((m) => m.peer.closed)).toBe(true);
  });
});
