import type { NodeInfo } from "../../../metadata/metadata-store.js";
import type { TierMove } from "../../../storage/tier-events.js";
import type { MetricSnapshot, TierSnapshot } from "./metric-snapshot.js";
import type { Sample } from "./sampler.js";

/** This node, as the dashboard introduces it. */
export interface SelfInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly adminAddress: string;
  readonly ready: boolean;
}

/** One change of a block's location, as the dashboard lists it. */
export interface MoveEvent {
  /** ms since the epoch. */
  readonly t: number;
  readonly blockId: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /** Payload size; null for a corrupt copy (its bytes are gone). */
  readonly bytes: number | null;
}

export interface LiveNodeView {
  readonly nodeId: string;
  readonly address: string;
  /** Its dashboard, or null when it has no admin server. */
  readonly dashboardUrl: string | null;
  readonly self: boolean;
  readonly startedAt: number;
}

/** What GET /api/summary answers; every number comes from one registry snapshot. */
export interface DashboardSummary {
  readonly node: SelfInfo;
  readonly time: number;
  readonly liveNodes: readonly LiveNodeView[];
  /** GETs served by this node: hits, misses, errors, and hits / (hits + misses) (null before any). */
  readonly gets: { readonly hits: number; readonly misses: number; readonly errors: number; readonly hitRatio: number | null };
  readonly requests: MetricSnapshot["requests"];
  readonly tiers: readonly TierSnapshot[];
  readonly moves: MetricSnapshot["moves"];
  readonly checksumFailures: number;
  readonly backendErrors: MetricSnapshot["backendErrors"];
  /** Oldest first. */
  readonly series: readonly Sample[];
  /** Newest first. */
  readonly events: readonly MoveEvent[];
}

export interface SummaryInput {
  readonly self: SelfInfo;
  readonly now: number;
  readonly nodes: readonly NodeInfo[];
  readonly snapshot: MetricSnapshot;
  readonly series: readonly Sample[];
  readonly events: readonly MoveEvent[];
}

export function buildSummary(input: SummaryInput): DashboardSummary {
  const { snapshot: s } = input;
  const get = s.requests["node_get"] ?? {};
  const [hits, misses] = [get["hit"] ?? 0, get["miss"] ?? 0];
  return {
    node: input.self,
    time: input.now,
    liveNodes: input.nodes.map((n) => liveNodeView(n, input.self.nodeId)),
    gets: { hits, misses, errors: get["error"] ?? 0, hitRatio: hits + misses === 0 ? null : hits / (hits + misses) },
    requests: s.requests,
    tiers: s.tiers,
    moves: s.moves,
    checksumFailures: s.checksumFailures,
    backendErrors: s.backendErrors,
    series: input.series,
    events: [...input.events].reverse(),
  };
}

export function moveEvent(move: TierMove, t: number): MoveEvent {
  return { t, blockId: move.id, from: move.from, to: move.to, reason: move.reason, bytes: move.block?.data.byteLength ?? null };
}

function liveNodeView(node: NodeInfo, selfId: string): LiveNodeView {
  return { nodeId: node.nodeId, address: node.address, dashboardUrl: dashboardUrl(node), self: node.nodeId === selfId, startedAt: node.startedAt };
}

/**
 * The node's dashboard URL (https when its admin server speaks TLS). An admin
 * server bound to a wildcard address is reached through the host of the node's
 * advertised data address.
 */
export function dashboardUrl(node: NodeInfo): string | null {
  if (node.adminAddress === "") return null;
  const at = node.adminAddress.lastIndexOf(":");
  const [host, port] = [node.adminAddress.slice(0, at), node.adminAddress.slice(at + 1)];
  const wildcard = host === "0.0.0.0" || host === "[::]" || host === "::" || host === "";
  const dataHost = node.address.slice(0, node.address.lastIndexOf(":"));
  return `${node.adminTls === true ? "https" : "http"}://${wildcard ? dataHost : host}:${port}/dashboard`;
}
