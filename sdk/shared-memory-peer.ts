import fs from "node:fs";
import type { Block, BlockId } from "../src/block.js";
import { checksumOf } from "../src/checksum.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { BlockPeer, PeerOptions, PeerStats } from "../src/peer.js";
import { abortError, ErrorCode, isKvCacheError } from "../src/errors.js";
import { readFully, writeFully, writeFullySync } from "../src/positional-io.js";
import { SHARED_HEADER_BYTES, sharedHeaderMatches, sharedHeaderSlots, type SharedMemoryFile } from "../src/shared-memory-file.js";
import { nativeFastPath, type NativeFastPath } from "../src/native.js";
import { MAX_LEASES_PER_FRAME, MAX_TOUCHES_PER_FRAME } from "../src/wire/protocol.js";
import { InFlight } from "../storage/in-flight.js";
import { DeferredBatch } from "./deferred-batch.js";
import { DirectoryReader, type ListedRead } from "./directory-reader.js";
import type { PeerClient } from "./peer-client.js";
import { openSharedFileReader, type SharedFileReader } from "./shared-file-reader.js";

export interface SharedMemoryPeerOptions {
  /** The node's TCP client: LOCATE and RELEASE go through it, and everything the shared file cannot serve. */
  readonly client: PeerClient;
  /** The node's shared memory file, opened (see {@link openSharedMemoryFile}); closed with this peer. */
  readonly file: SharedFileHandle;
  /** Counts reads served from the file (tier="shared" hits and hit bytes), LOCATE misses and checksum failures. */
  readonly metrics?: CacheMetrics;
  /** How long finished leases may wait to ride on the next LOCATE before a RELEASE of their own (default 20 ms). */
  readonly releaseDelayMs?: number;
  /**
   * How long blocks read through the directory are collected before one TOUCH
   * tells the node of them (default 250 ms; sooner when a frame's worth, 256,
   * has gathered). Each TOUCH wakes the node and this process, which costs
   * more than handling it: sent every 20 ms instead, they took about 5% off
   * the rate of 1 MiB loads on 2 vCPUs (README, "Fewer TOUCH messages").
   */
  readonly touchDelayMs?: number;
}

const TIER = "shared";
const DEFAULT_RELEASE_DELAY_MS = 20;
const DEFAULT_TOUCH_DELAY_MS = 250;
const INLINE_BYTES = 4 * 1024 * 1024;

/** An opened shared memory file: writable when this process may write it (then blocks are also written there). */
export interface SharedFileHandle {
  readonly fd: number;
  /** Reads of the file: mapped when the native fast path is built, else pread. */
  readonly reader: SharedFileReader;
  readonly writable: boolean;
  /** Home slots of the file's directory (src/shared-directory.ts). */
  readonly directorySlots: number;
}

/**
 * Opens a node's advertised shared memory file when this process can, and it
 * is that node's (its header carries the advertised token: same host, same
 * file). Otherwise undefined, and the node is reached over TCP. Reads go
 * through a mapping of the file when `native` (the native fast path, by
 * default this process's when built) is given.
 */
export function openSharedMemoryFile(file: SharedMemoryFile, native: NativeFastPath | undefined = nativeFastPath): SharedFileHandle | undefined {
  for (const [flags, writable] of [["r+", true], ["r", false]] as const) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(file.path, flags);
      const header = Buffer.alloc(SHARED_HEADER_BYTES);
      if (fs.readSync(fd, header, 0, header.length, 0) === header.length && sharedHeaderMatches(header, file.token)) {
        return { fd, reader: openSharedFileReader(fd, native), writable, directorySlots: sharedHeaderSlots(header) };
      }
    } catch {
      // Another host's path, another user's file, a node that has gone: TCP it is.
    }
    if (fd !== undefined) fs.closeSync(fd);
  }
  return undefined;
}

/**
 * A node on this host, read and written through its shared memory file.
 *
 * A GET first looks the block up in the file's directory (src/shared-directory.ts):
 * one read of the slots where it can be listed, one read of its bytes
 * straight into the destination (the caller's buffer with PeerOptions.into),
 * one read of its slot again (through a mapping of the file, or pread; see
 * sdk/shared-file-reader.ts), all on the calling thread, which is why
 * {@link SharedMemoryPeer.getNow} can do it with no promise and no request
 * deadline. The bytes are taken only when the slot still
 * lists them (the node unlists a block before its place can be reused) and
 * they match the checksum; no message goes to the node, which later hears of
 * the read in a batched TOUCH (recency and hit counts). A block not listed, or
 * a read that raced a change, is LOCATEd: the node answers where the bytes are
 * and leases them in place; the lease is released on the next LOCATE (or a
 * RELEASE shortly after). Blocks not in the node's memory tier, and reads that
 * fail or mismatch, fall back to the node's GET (which reads its lower tiers,
 * promotes, and drops a bad copy). A write RESERVEs room in the file, writes
 * the bytes there and COMMITs (see {@link SharedMemoryPeer.put}).
 */
export class SharedMemoryPeer implements BlockPeer {
  readonly nodeId: string;
  readonly #client: PeerClient;
  readonly #fd: number;
  readonly #reader: SharedFileReader;
  readonly #directory: DirectoryReader;
  /** Whether blocks are written through the file (RESERVE, pwrite, COMMIT); off when not writable or the node refused. */
  #writes: boolean;
  readonly #metrics: CacheMetrics | undefined;
  readonly #fileOps = new InFlight();
  readonly #releases: DeferredBatch<number>;
  readonly #touches: DeferredBatch<BlockId>;
  #closing: Promise<void> | undefined;

  constructor(options: SharedMemoryPeerOptions) {
    this.nodeId = options.client.nodeId;
    this.#client = options.client;
    this.#fd = options.file.fd;
    this.#reader = options.file.reader;
    this.#directory = new DirectoryReader(this.#reader, options.file.directorySlots, INLINE_BYTES);
    this.#writes = options.file.writable;
    this.#metrics = options.metrics;
    // Neither needs a retry when it fails (the node went away): the node ends
    // unreleased leases itself when they expire, and a lost TOUCH costs only
    // recency and a hit count.
    this.#releases = new DeferredBatch(options.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS, MAX_LEASES_PER_FRAME, (leases) => this.#client.release(leases).catch(() => undefined));
    this.#touches = new DeferredBatch(options.touchDelayMs ?? DEFAULT_TOUCH_DELAY_MS, MAX_TOUCHES_PER_FRAME, (ids) => this.#client.touch(ids).catch(() => undefined));
  }

  /**
   * A block listed in the file's directory, read and verified on this thread
   * with no message to the node (see {@link DirectoryReader}); undefined when it
   * is not listed, changed while read, or damaged: then {@link get}, which reads
   * the directory again and asks the node (and counts a damaged copy).
   */
  getNow(id: BlockId, into?: Uint8Array): Block | undefined {
    const read = this.#directoryRead(id, into);
    if (typeof read !== "object") return undefined;
    this.#countListedHit(id, read.block);
    return read.block;
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    if (options?.signal?.aborted === true) throw abortError(options.signal);
    const listed = this.#readListed(id, options?.into);
    if (listed === "damaged") return this.#client.get(id, options);
    if (listed !== "ask") return listed.block;
    const where = await this.#client.locate(id, this.#releases.take(), options);
    if (where === undefined) {
      this.#metrics?.tierMisses.inc({ tier: TIER });
      return this.#client.get(id, options);
    }
    const into = options?.into;
    const data = into !== undefined && into.length >= where.length ? into.subarray(0, where.length) : Buffer.allocUnsafe(where.length);
    let checksum: number;
    try {
      checksum = await this.#read(data, where.offset);
    } catch {
      return this.#client.get(id, options);
    } finally {
      this.#releases.add(where.lease);
    }
    if (checksum !== where.checksum >>> 0) {
      this.#metrics?.checksumFailures.inc({ tier: TIER });
      return this.#client.get(id, options);
    }
    this.#countHit(data.length);
    return where.tag === undefined ? { data, checksum: where.checksum } : { data, checksum: where.checksum, tag: where.tag };
  }

  /** {@link #directoryRead}, counted: a hit, or a damaged copy. */
  #readListed(id: BlockId, into: Uint8Array | undefined): ListedRead {
    const read = this.#directoryRead(id, into);
    if (read === "damaged") this.#metrics?.checksumFailures.inc({ tier: TIER });
    else if (read !== "ask") this.#countListedHit(id, read.block);
    return read;
  }

  /**
   * A read through the directory (see {@link DirectoryReader}); a failed read
   * asks the node. Only while a connection to the node is open and set up: a
   * node that died (its sockets closed) is asked, and fails, rather than served
   * from the memory it left behind; a client the node refused (a wrong secret)
   * gets its refusal rather than the bytes; after a reconnect (the next LOCATE)
   * the directory is used again.
   */
  #directoryRead(id: BlockId, into: Uint8Array | undefined): ListedRead {
    if (this.#closing !== undefined || !this.#client.connected) return "ask";
    try {
      return this.#directory.read(id, into);
    } catch {
      return "ask";
    }
  }

  /** A hit served through the directory: counted here, and told to the node in the next TOUCH. */
  #countListedHit(id: BlockId, block: Block): void {
    this.#countHit(block.data.length);
    this.#touches.add(id);
  }

  #countHit(bytes: number): void {
    this.#metrics?.tierHits.inc({ tier: TIER });
    this.#metrics?.tierHitBytes.inc({ tier: TIER }, bytes);
  }

  /**
   * RESERVE room in the file, write the bytes there, COMMIT: the block's bytes
   * never cross TCP. A node that cannot take it this way (too large for its
   * memory, write-through on, a lease that expired) gets a PUT instead.
   */
  async put(id: BlockId, block: Block, options?: PeerOptions): Promise<void> {
    if (!this.#writes) return this.#client.put(id, block, options);
    let where;
    try {
      where = await this.#client.reserve(id, block.data.length, block.checksum, block.tag, options);
    } catch (err) {
      if (!refused(err)) throw err;
      if (remoteCodeOf(err) === ErrorCode.PROTOCOL) this.#writes = false;
      return this.#client.put(id, block, options);
    }
    try {
      await this.#write(block.data, where.offset);
    } catch {
      this.#releases.add(where.lease);
      return this.#client.put(id, block, options);
    }
    try {
      await this.#client.commit(id, where.lease, options);
    } catch (err) {
      if (!refused(err)) throw err;
      return this.#client.put(id, block, options);
    }
  }

  delete(id: BlockId, options?: PeerOptions): Promise<void> {
    return this.#client.delete(id, options);
  }

  stats(options?: PeerOptions): Promise<PeerStats> {
    return this.#client.stats(options);
  }

  /** Releases what it still holds, closes the client, then the file once no read or write uses it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.all([this.#releases.drain(), this.#touches.drain()]);
    await this.#client.close();
    await this.#fileOps.drain();
    this.#reader.close();
    fs.closeSync(this.#fd);
  }

  /**
   * Fills `data` from the file at `position` and returns its CRC-32. The file
   * is on a memory file system, so a transfer is a memory copy: up to
   * {@link INLINE_BYTES} it is done on this thread, which costs less than a
   * trip through libuv's threadpool (measured: about 0.1 ms less CPU per 1 MiB
   * load) and blocks the loop no longer than copying a buffer of that size
   * would. Larger ones go through the threadpool; so do writes (`#write`).
   */
  async #read(data: Uint8Array, position: number): Promise<number> {
    if (data.length <= INLINE_BYTES) return this.#reader.readChecksummed(data, position);
    await this.#fileOps.track(readFully(this.#fd, data, position));
    return checksumOf(data);
  }

  async #write(data: Uint8Array, position: number): Promise<void> {
    if (data.length <= INLINE_BYTES) writeFullySync(this.#fd, data, position);
    else await this.#fileOps.track(writeFully(this.#fd, data, position));
  }
}

/** The node refused a same-host write (not an outage): the block goes by PUT instead. */
function refused(err: unknown): boolean {
  const code = remoteCodeOf(err);
  return code === ErrorCode.BLOCK_TOO_LARGE || code === ErrorCode.INVALID_ARGUMENT || code === ErrorCode.PROTOCOL;
}

function remoteCodeOf(err: unknown): unknown {
  return isKvCacheError(err, ErrorCode.NODE) ? err.details["remoteCode"] : undefined;
}
