/** Types of the meters area, derived from the generated OpenAPI schema. */
import type { Operation, PathsWith, RequestBody, ResponseBody } from '../../../lib/api/client';

type Get<P extends PathsWith<'get'>> = ResponseBody<Operation<P, 'get'>>;

export type MeterList = Get<'/api/v1/meters'>;
export type Meter = MeterList['items'][number];
export type MovementList = Get<'/api/v1/meters/{meter_id}/movements'>;
export type Movement = MovementList['items'][number];
export type LocationList = Get<'/api/v1/stock-locations'>;
export type StockLocation = LocationList['items'][number];
export type MeterCreate = RequestBody<Operation<'/api/v1/meters', 'post'>>;
export type MoveIn = RequestBody<Operation<'/api/v1/meters/{meter_id}/movements', 'post'>>;

export const STATUS_LABELS: Record<string, string> = {
  in_stock: 'In stock',
  issued: 'Issued to crew',
  installed: 'Installed',
  removed: 'Removed',
  faulty: 'Faulty',
  scrapped: 'Scrapped',
};

export const KIND_LABELS: Record<string, string> = {
  sts_keypad: 'STS keypad',
  sts_smartcard: 'STS smart card',
  ami: 'AMI (smart)',
  postpaid: 'Postpaid',
};

/** Who may register and edit meters, and who may move them (the API enforces the same). */
export function canWrite(roles: readonly string[]): boolean {
  return roles.includes('admin') || roles.includes('engineer');
}
export function canMove(roles: readonly string[]): boolean {
  return canWrite(roles) || roles.includes('supervisor');
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(at: string | null | undefined): string {
  if (!at) return '—';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : timeFormat.format(d);
}
