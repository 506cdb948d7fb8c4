/**
 * Formatting for the sales reports: money arrives in integer minor units, energy in Wh.
 * Money is shown in major units with exactly two digits and the ISO currency code;
 * energy in kWh with one decimal.
 */
import type { Get } from './types';

export type SalesDashboard = Get<'/api/v1/reports/sales-dashboard'>;
export type Totals = SalesDashboard['today'];
export type Group = SalesDashboard['by_channel'][number];
export type DayPoint = SalesDashboard['daily'][number];

const twoDigits = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const oneDigit = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** 95000 minor units of KES → "KES 950.00". */
export function money(minor: number, currency: string): string {
  return `${currency} ${twoDigits.format(minor / 100)}`;
}

/** Short money for chart axes: "12.5K". */
export function moneyShort(minor: number): string {
  return compact.format(minor / 100);
}

/** 12345 Wh → "12.3 kWh" (tenths rounded half up from the integer Wh, as the backend rounds). */
export function kwh(wh: number): string {
  return `${oneDigit.format(Math.round(wh / 100) / 10)} kWh`;
}

export function count(n: number): string {
  return whole.format(n);
}

/** Share of a part in a whole as "42%" ("0%" when the whole is 0). */
export function share(part: number, total: number): string {
  return total > 0 ? `${Math.round((part / total) * 100)}%` : '0%';
}

const CHANNEL_LABELS: Record<string, string> = {
  station: 'Station counter',
  agent: 'Agent',
  api: 'Vendor API',
  ussd: 'USSD',
  sms: 'SMS',
  portal: 'Customer portal',
};

const PAYMENT_LABELS: Record<string, string> = {
  cash: 'Cash',
  card: 'Card',
  mobile_money: 'Mobile money',
  bank: 'Bank transfer',
  agent_float: 'Agent float',
  voucher: 'Voucher',
};

export function channelLabel(key: string): string {
  return CHANNEL_LABELS[key] ?? key.replace(/_/g, ' ');
}

export function paymentLabel(key: string): string {
  return PAYMENT_LABELS[key] ?? key.replace(/_/g, ' ');
}

/** Today's date (local to the browser) as YYYY-MM-DD. */
export function isoToday(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** True for a well-formed YYYY-MM-DD calendar date. */
export function isIsoDate(value: string | null | undefined): value is string {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

const longDay = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeZone: 'UTC' });
const monthName = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });

export function dayTitle(iso: string): string {
  return longDay.format(new Date(`${iso}T00:00:00Z`));
}

export function monthTitle(iso: string): string {
  return monthName.format(new Date(`${iso}T00:00:00Z`));
}
