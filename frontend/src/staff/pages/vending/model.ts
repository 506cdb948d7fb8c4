/**
 * Shapes and helpers of the cashier's screen: money in minor units, times in the utility's zone,
 * tokens in groups of four, and caller references that survive a retry.
 */
import type { Operation, RequestBody, ResponseBody } from '../../../lib/api/client';

export type Shift = ResponseBody<Operation<'/api/v1/shifts/current', 'get'>>;
export type Lookup = ResponseBody<Operation<'/api/v1/meter-lookups/{lookup_id}', 'post'>>;
export type Quote = ResponseBody<Operation<'/api/v1/purchases/{reference}/trial', 'post'>>;
export type Purchase = ResponseBody<Operation<'/api/v1/purchases/{reference}', 'post'>>;
export type PurchaseBody = RequestBody<Operation<'/api/v1/purchases/{reference}', 'post'>>;
export type Tender = PurchaseBody['payment_method'];

export const TENDERS: { value: Tender; label: string; refLabel: string | null }[] = [
  { value: 'cash', label: 'Cash', refLabel: null },
  { value: 'card', label: 'Card', refLabel: 'Card reference (terminal slip)' },
  { value: 'mobile_money', label: 'Mobile money', refLabel: 'Mobile money transaction reference' },
];

export function tenderLabel(value: string): string {
  return TENDERS.find((t) => t.value === value)?.label ?? value.replace(/_/g, ' ');
}

/** Minor units → "KES 1,234.50". */
export function money(minor: number | null | undefined, currency: string): string {
  const value = (minor ?? 0) / 100;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: 2 }).format(value);
  } catch {
    return `${currency} ${value.toFixed(2)}`;
  }
}

/** "1234.5" (major units, as typed) → 123450 minor units; null when it is not an amount. */
export function toMinor(text: string): number | null {
  const cleaned = text.replace(/[\s,]/g, '');
  const match = /^(\d{1,10})(?:\.(\d{0,2}))?$/.exec(cleaned);
  if (!match) return null;
  const whole = Number(match[1]);
  const cents = Number((match[2] ?? '').padEnd(2, '0'));
  return whole * 100 + cents;
}

/** Wh → "12.3 kWh". */
export function kwh(wh: number | null | undefined): string {
  return `${((wh ?? 0) / 1000).toLocaleString(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} kWh`;
}

/** A timestamp shown in the utility's zone, with the zone's name. */
export function localTime(at: string | null | undefined, timeZone: string | null | undefined): string {
  if (!at) return '—';
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  try {
    return new Intl.DateTimeFormat(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZone: timeZone ?? undefined,
      timeZoneName: 'short',
    }).format(d);
  } catch {
    return d.toISOString();
  }
}

/** 20 digits in five groups of four, as the customer types them. */
export function groupToken(digits: string): string {
  return digits.replace(/\D/g, '').replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** A fresh caller reference (UUID); works also where crypto.randomUUID is missing (plain http). */
export function newReference(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Where the receipt was made: shown in its header. */
export interface ReceiptHeader {
  utility: string | null;
  station: string | null;
  operator: string;
  timeZone: string | null;
  reprint?: boolean;
}
