/**
 * datenlordsdk: a distributed KV cache for LLM inference. Store a prompt
 * prefix's KV state under a key; later load the block of the longest stored
 * prefix of a new prompt.
 */
export { DatenLordSDK, type DatenLordSDKOptions, type BackendFactory } from "./datenlord-sdk.js";
export { KvCacheClient } from "./client.js";
export type {
  BlockData, ClientEvents, ClientStats, DegradedEvent, InsertItem, InsertOptions, InsertResult,
  LoadHit, MatchedPrefix, NodeStatsResult, PrefixMatch, SdkOp,
} from "./types.js";
export type { Backend } from "./backend.js";
export type { PeerDirectory } from "./peer-directory.js";
export { SdkMetrics } from "./sdk-metrics.js";
export { KvCacheError, ErrorCode, isKvCacheError } from "../src/errors.js";
export type { CacheKey, TokenKey } from "../src/keys.js";
export type { AppConfig, ConfigOverrides } from "../src/config.js";
export { CacheMetrics } from "../src/metrics.js";
export type { NodeInfo } from "../metadata/metadata-store.js";
export type { PeerStats } from "../src/peer.js";
