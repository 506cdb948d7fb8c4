/** Types and helpers of the network area, derived from the generated OpenAPI schema. */
import { type Operation, type PathsWith, type RequestBody, type ResponseBody } from '../../../lib/api/client';

type Get<P extends PathsWith<'get'>> = ResponseBody<Operation<P, 'get'>>;

export type TreeNode = Get<'/api/v1/network/tree'>['items'][number];
export type NetworkNode = Get<'/api/v1/network/nodes/{node_id}'>;
export type NodeKind = NetworkNode['kind'];
export type NodeCreate = RequestBody<Operation<'/api/v1/network/nodes', 'post'>>;
export type NodeUpdate = RequestBody<Operation<'/api/v1/network/nodes/{node_id}', 'patch'>>;
export type SupplyPoint = Get<'/api/v1/network/supply-points/{point_id}'>;
export type SupplyPointCreate = RequestBody<Operation<'/api/v1/network/supply-points', 'post'>>;
export type SupplyPointUpdate = RequestBody<Operation<'/api/v1/network/supply-points/{point_id}', 'patch'>>;

export const KIND_LABELS: Record<NodeKind, string> = {
  substation: 'Substation',
  feeder: 'Feeder',
  transformer: 'Transformer',
};

/** The kind of node each kind hangs under (a substation stands at the top). */
export const PARENT_KIND: Record<NodeKind, NodeKind | null> = {
  substation: null,
  feeder: 'substation',
  transformer: 'feeder',
};

/** Who may add and change network equipment and supply points (the API enforces the same). */
export function canWrite(roles: readonly string[]): boolean {
  return roles.some((r) => r === 'admin' || r === 'engineer' || r === 'supervisor');
}

/** Every node of the tree, depth first, with its parent. */
export interface Placed {
  node: TreeNode;
  parent: TreeNode | null;
}
export function flatten(items: readonly TreeNode[], parent: TreeNode | null = null): Placed[] {
  return items.flatMap((node) => [{ node, parent }, ...flatten(node.children, node)]);
}

/** Ids of the ancestors of node `id` (root first), or null when it is not in the tree. */
export function ancestors(items: readonly TreeNode[], id: number): number[] | null {
  for (const node of items) {
    if (node.id === id) return [];
    const below = ancestors(node.children, id);
    if (below) return [node.id, ...below];
  }
  return null;
}

/** Active supply points fed by a node: its own (transformers) or those of everything below it. */
export function pointsBelow(node: TreeNode): number {
  return node.kind === 'transformer' ? node.supply_points : node.children.reduce((n, c) => n + pointsBelow(c), 0);
}

export function pointsText(n: number): string {
  return n === 0 ? 'no supply points' : `${n} supply point${n === 1 ? '' : 's'}`;
}

/** "11 kV · 200 kVA", or '' when neither is known. */
export function ratingText(node: { voltage_kv: string | null; rating_kva: number | null } | undefined): string {
  if (!node) return '';
  const parts: string[] = [];
  if (node.voltage_kv !== null) parts.push(`${Number(node.voltage_kv)} kV`);
  if (node.rating_kva !== null) parts.push(`${node.rating_kva} kVA`);
  return parts.join(' · ');
}

/** A decimal as typed ('' = none); the API takes decimals as strings. */
export function decimalOrNull(text: string): string | null {
  const t = text.trim().replace(',', '.');
  return t === '' ? null : t;
}

/** The same decimal, however written ("11" and "11.000"); null is the same only as null. */
export function sameDecimal(a: string | null, b: string | null): boolean {
  return (a === null ? null : Number(a)) === (b === null ? null : Number(b));
}

/** A whole number as typed: null when empty, NaN when it is not a whole number. */
export function wholeOrNull(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  return /^\d+$/.test(t) ? Number(t) : NaN;
}
