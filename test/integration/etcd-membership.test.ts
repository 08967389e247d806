import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import type { NodeEvent } from "../../metadata/metadata-store.js";
import { spawnChild, unlessExited } from "../helpers/child.js";
import { waitFor } from "../helpers/wait-for.js";
import { deleteRoot, testEtcdConfig } from "./etcd-metadata-fixture.js";

const CHILD = fileURLToPath(new URL("./membership-child.ts", import.meta.url));
const TTL_SECONDS = 2;

describe("etcd membership across processes", () => {
  it("a SIGKILLed node leaves liveNodes within its lease TTL, and a watch sees it join and leave", async () => {
    const config = testEtcdConfig();
    const store = await EtcdMetadataStore.connect({ config });
    onTestFinished(async () => {
      await store.close();
      await deleteRoot(config);
    });
    const events: (NodeEvent & { at: number })[] = [];
    const watch = await store.watchNodes((e) => events.push({ ...e, at: Date.now() }));
    onTestFinished(() => watch.close());

    const child = spawnChild(process.execPath, ["--import", "tsx", CHILD, config.endpoints.join(","), config.rootPrefix, "child-node", String(TTL_SECONDS)]);
    onTestFinished(async () => void (await child.kill("SIGKILL")));
    await unlessExited(child, "membership child", (signal) =>
      waitFor(() => events.some((e) => e.type === "join" && e.nodeId === "child-node"), { what: "the child's join event", timeoutMs: 30_000, signal }));
    expect((await store.liveNodes()).map((n) => n.nodeId)).toEqual(["child-node"]);

    const killedAt = Date.now();
    await child.kill("SIGKILL");
    const leave = await waitFor(() => events.find((e) => e.type === "leave" && e.nodeId === "child-node"), {
      what: "the dead child's leave event",
      timeoutMs: TTL_SECONDS * 1000 + 10_000,
    });
    // The lease had at most TTL left at the kill; etcd checks expiries every 500 ms, plus a commit: 1 s of slack.
    expect(leave.at - killedAt).toBeLessThanOrEqual(TTL_SECONDS * 1000 + 1000);
    expect(await store.liveNodes()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(["join", "leave"]);
  });
});
