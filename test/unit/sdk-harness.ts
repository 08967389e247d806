import { onTestFinished, expect } from "vitest";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import type { MetadataStore } from "../../metadata/metadata-store.js";
import { DatenLordSDK, KvCacheError, type DatenLordSDKOptions, type DegradedEvent, type KvCacheClient } from "../../sdk/index.js";
import type { ConfigOverrides } from "../../src/config.js";
import { FakeDirectory, FakePeer, fakeBackend, failingMetadata } from "./sdk-fakes.js";

/** An SDK over in-memory metadata and three fake nodes (the cluster code path without a network). */
export interface Harness {
  readonly sdk: DatenLordSDK;
  readonly client: KvCacheClient;
  readonly metadata: MetadataStore;
  readonly peers: FakePeer[];
  readonly directory: FakeDirectory;
  readonly events: DegradedEvent[];
  metadataDown: boolean;
}

export async function harness(config: ConfigOverrides = {}, extra: Partial<DatenLordSDKOptions> = {}): Promise<Harness> {
  const memory = new MemoryMetadataStore();
  const h = { metadataDown: false } as Harness;
  const metadata = failingMetadata(memory, () => h.metadataDown);
  const peers = ["n1", "n2", "n3"].map((id) => new FakePeer(id));
  const directory = new FakeDirectory(peers);
  const sdk = new DatenLordSDK({
    env: {}, options: { cluster: { replicas: 2, requestTimeoutMs: 200 }, ...config },
    openBackend: async () => fakeBackend(metadata, directory), ...extra,
  });
  onTestFinished(() => sdk.close());
  const client = await sdk.connect();
  const events: DegradedEvent[] = [];
  client.on("degraded", (e) => events.push(e));
  return Object.assign(h, { sdk, client, metadata, peers, directory, events });
}

export const text = (b: Buffer | undefined): string | undefined => b?.toString("utf8");
export const storedBlocks = (h: Harness): number => h.peers.reduce((n, p) => n + p.blocks.size, 0);
export const puts = (h: Harness): number => h.peers.reduce((n, p) => n + p.calls.put, 0);

export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => e instanceof KvCacheError && e.code === code);
}
