import fs from "node:fs";
import type { Block, BlockId } from "../src/block.js";
import { checksumMatches } from "../src/checksum.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { BlockPeer, PeerOptions, PeerStats } from "../src/peer.js";
import { readFully } from "../src/positional-io.js";
import { SHARED_HEADER_BYTES, sharedHeaderMatches, type SharedMemoryFile } from "../src/shared-memory-file.js";
import { MAX_LEASES_PER_FRAME } from "../src/wire/protocol.js";
import { InFlight } from "../storage/in-flight.js";
import type { PeerClient } from "./peer-client.js";

export interface SharedMemoryPeerOptions {
  /** The node's TCP client: LOCATE and RELEASE go through it, and everything the shared file cannot serve. */
  readonly client: PeerClient;
  /** The node's shared memory file, opened (see {@link openSharedMemoryFile}); closed with this peer. */
  readonly fd: number;
  /** Counts reads served from the file (tier="shared" hits and hit bytes), LOCATE misses and checksum failures. */
  readonly metrics?: CacheMetrics;
  /** How long finished leases may wait to ride on the next LOCATE before a RELEASE of their own (default 20 ms). */
  readonly releaseDelayMs?: number;
}

const TIER = "shared";
const DEFAULT_RELEASE_DELAY_MS = 20;

/**
 * Opens a node's advertised shared memory file when this process can, and it
 * is that node's (its header carries the advertised token: same host, same
 * file). Otherwise undefined, and the node is reached over TCP.
 */
export function openSharedMemoryFile(file: SharedMemoryFile): number | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file.path, "r");
    const header = Buffer.alloc(SHARED_HEADER_BYTES);
    if (fs.readSync(fd, header, 0, header.length, 0) === header.length && sharedHeaderMatches(header, file.token)) return fd;
  } catch {
    // Another host's path, another user's file, a node that has gone: TCP it is.
  }
  if (fd !== undefined) fs.closeSync(fd);
  return undefined;
}

/**
 * A node on this host, read through its shared memory file: a GET becomes a
 * small LOCATE over TCP and one pread of the block's bytes straight into the
 * destination (the caller's buffer with PeerOptions.into), verified against the
 * checksum. The lease LOCATE granted keeps the bytes in place while they are
 * read; it is released on the next LOCATE (or a RELEASE shortly after), so a
 * steady reader sends no extra message. Blocks not in the node's memory tier,
 * and reads that fail or mismatch, fall back to the node's GET (which reads its
 * lower tiers, promotes, and drops a bad copy). Writes go over TCP.
 */
export class SharedMemoryPeer implements BlockPeer {
  readonly nodeId: string;
  readonly #client: PeerClient;
  readonly #fd: number;
  readonly #metrics: CacheMetrics | undefined;
  readonly #releaseDelayMs: number;
  readonly #reads = new InFlight();
  #releasing: number[] = [];
  #releaseTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SharedMemoryPeerOptions) {
    this.nodeId = options.client.nodeId;
    this.#client = options.client;
    this.#fd = options.fd;
    this.#metrics = options.metrics;
    this.#releaseDelayMs = options.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS;
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    const where = await this.#client.locate(id, this.#takeReleases(), options);
    if (where === undefined) {
      this.#metrics?.tierMisses.inc({ tier: TIER });
      return this.#client.get(id, options);
    }
    const into = options?.into;
    const data = into !== undefined && into.length >= where.length ? into.subarray(0, where.length) : Buffer.allocUnsafe(where.length);
    try {
      await this.#reads.track(readFully(this.#fd, data, where.offset));
    } catch {
      return this.#client.get(id, options);
    } finally {
      this.#queueRelease(where.lease);
    }
    if (!checksumMatches(data, where.checksum)) {
      this.#metrics?.checksumFailures.inc({ tier: TIER });
      return this.#client.get(id, options);
    }
    this.#metrics?.tierHits.inc({ tier: TIER });
    this.#metrics?.tierHitBytes.inc({ tier: TIER }, data.length);
    return where.tag === undefined ? { data, checksum: where.checksum } : { data, checksum: where.checksum, tag: where.tag };
  }

  put(id: BlockId, block: Block, options?: PeerOptions): Promise<void> {
    return this.#client.put(id, block, options);
  }

  delete(id: BlockId, options?: PeerOptions): Promise<void> {
    return this.#client.delete(id, options);
  }

  stats(options?: PeerOptions): Promise<PeerStats> {
    return this.#client.stats(options);
  }

  /** Releases what it still holds, closes the client, then the file once no read uses it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    clearTimeout(this.#releaseTimer);
    while (this.#releasing.length > 0) await this.#flush();
    await this.#client.close();
    await this.#reads.drain();
    fs.closeSync(this.#fd);
  }

  /** Leases to ride on the next LOCATE. */
  #takeReleases(): number[] {
    const leases = this.#releasing.splice(0, MAX_LEASES_PER_FRAME);
    if (this.#releasing.length === 0) {
      clearTimeout(this.#releaseTimer);
      this.#releaseTimer = undefined;
    }
    return leases;
  }

  #queueRelease(lease: number): void {
    this.#releasing.push(lease);
    if (this.#releasing.length >= MAX_LEASES_PER_FRAME) void this.#flush();
    else if (this.#releaseTimer === undefined && this.#closing === undefined) {
      this.#releaseTimer = setTimeout(() => void this.#flush(), this.#releaseDelayMs);
      this.#releaseTimer.unref();
    }
  }

  /**
   * Sends a RELEASE for what is queued. A RELEASE that fails (the node went
   * away) needs no retry: the node ends unreleased leases itself when they expire.
   */
  async #flush(): Promise<void> {
    this.#releaseTimer = undefined;
    const leases = this.#takeReleases();
    if (leases.length > 0) await this.#client.release(leases).catch(() => undefined);
  }
}
