/**
 * Tariff types (from the generated API schema) and the editor's form model.
 *
 * The API speaks the tariff structure: rates are exact decimal strings in major
 * units per kWh, amounts are integers in minor units. The form keeps what the
 * user types (strings, major units) and converts on load / save.
 */
import type { components } from '../../../lib/api/schema';

type S = components['schemas'];
export type TariffOut = S['TariffOut'];
export type VersionOut = S['VersionOut'];
export type Structure = S['Structure'];
export type PreviewOut = S['PreviewOut'];
export type Line = S['Line'];
export type HolidayOut = S['HolidayOut'];

export type EnergyKind = 'flat' | 'block' | 'tou';
export const DAY_TYPES = ['weekday', 'saturday', 'sunday', 'holiday'] as const;
export type DayType = (typeof DAY_TYPES)[number];
export const DAY_LABELS: Record<DayType, string> = {
  weekday: 'Weekdays',
  saturday: 'Saturdays',
  sunday: 'Sundays',
  holiday: 'Public holidays',
};

export interface BlockRow {
  upTo: string;
  rate: string;
}
export interface BandRow {
  code: string;
  name: string;
  rate: string;
}
export interface PeriodRow {
  start: string;
  end: string;
  band: string;
}
export interface FixedRow {
  name: string;
  amount: string;
  taxable: boolean;
}
export interface TaxRow {
  name: string;
  kind: 'percent' | 'per_kwh';
  value: string;
  appliesTo: 'energy' | 'fixed' | 'all';
}

export interface TariffForm {
  energyKind: EnergyKind;
  flatRate: string;
  blocks: BlockRow[];
  bands: BandRow[];
  schedule: Record<DayType, PeriodRow[]>;
  fixed: FixedRow[];
  taxes: TaxRow[];
  demandRate: string;
  pfTarget: string;
  pfPenalty: string;
  fbeKwh: string;
  debtMode: 'none' | 'percent' | 'fixed';
  debtPercent: string;
  debtAmount: string;
  debtCeiling: string;
  debtMonthlyCap: string;
  minPurchase: string;
  maxPurchase: string;
  digits: number;
}

export function digitsOf(s: Structure | undefined): number {
  return s?.currency_digits ?? 2;
}

/** Minor units → major-unit text ("15000" → "150.00"). */
export function toMajor(minor: number | null | undefined, digits = 2): string {
  if (minor === null || minor === undefined) return '';
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  if (digits === 0) return `${sign}${abs}`;
  const unit = 10 ** digits;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(digits, '0')}`;
}

/** Major-unit text → minor units (exact string arithmetic); null when empty, NaN when not a number. */
export function toMinor(text: string, digits = 2): number | null {
  const t = text.trim().replace(/,/g, '');
  if (t === '') return null;
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m) return Number.NaN;
  const frac = (m[2] ?? '').padEnd(digits, '0');
  if (frac.length > digits) return Number.NaN;
  return Number(m[1]) * 10 ** digits + (digits ? Number(frac) : 0);
}

export function money(minor: number, currency: string, digits = 2): string {
  const major = toMajor(minor, digits);
  const [whole = '0', frac] = major.replace('-', '').split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${minor < 0 ? '-' : ''}${currency} ${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

export function kwh(wh: number): string {
  return (wh / 1000).toLocaleString(undefined, { maximumFractionDigits: 3 });
}

const FULL_DAY = (band: string): PeriodRow[] => [{ start: '00:00', end: '24:00', band }];

export function emptyForm(): TariffForm {
  return {
    energyKind: 'block',
    flatRate: '',
    blocks: [
      { upTo: '50', rate: '' },
      { upTo: '', rate: '' },
    ],
    bands: [
      { code: 'peak', name: 'Peak', rate: '' },
      { code: 'offpeak', name: 'Off-peak', rate: '' },
    ],
    schedule: {
      weekday: FULL_DAY('offpeak'),
      saturday: FULL_DAY('offpeak'),
      sunday: FULL_DAY('offpeak'),
      holiday: FULL_DAY('offpeak'),
    },
    fixed: [],
    taxes: [{ name: 'VAT', kind: 'percent', value: '16', appliesTo: 'all' }],
    demandRate: '',
    pfTarget: '',
    pfPenalty: '',
    fbeKwh: '',
    debtMode: 'none',
    debtPercent: '',
    debtAmount: '',
    debtCeiling: '',
    debtMonthlyCap: '',
    minPurchase: '',
    maxPurchase: '',
    digits: 2,
  };
}

export function formFromStructure(s: Structure): TariffForm {
  const f = emptyForm();
  const d = digitsOf(s);
  f.digits = d;
  const e = s.energy;
  f.energyKind = e.kind;
  if (e.kind === 'flat') f.flatRate = e.rate;
  if (e.kind === 'block') f.blocks = e.blocks.map((b) => ({ upTo: b.up_to_kwh ?? '', rate: b.rate }));
  if (e.kind === 'tou') {
    f.bands = e.bands.map((b) => ({ code: b.code, name: b.name, rate: b.rate }));
    for (const day of DAY_TYPES) f.schedule[day] = e.schedule[day].map((p) => ({ ...p }));
  }
  f.fixed = (s.fixed_charges ?? []).map((c) => ({
    name: c.name,
    amount: toMajor(c.amount_minor, d),
    taxable: c.taxable ?? true,
  }));
  f.taxes = (s.taxes ?? []).map((t) => ({
    name: t.name,
    kind: t.per_kwh ? 'per_kwh' : 'percent',
    value: t.per_kwh ?? t.percent ?? '',
    appliesTo: t.applies_to ?? 'energy',
  }));
  f.demandRate = s.demand?.rate_per_kva ?? '';
  f.pfTarget = s.power_factor?.target ?? '';
  f.pfPenalty = s.power_factor?.penalty_percent_per_step ?? '';
  f.fbeKwh = s.free_basic?.kwh_per_month ?? '';
  const r = s.debt_recovery;
  f.debtMode = r ? r.mode : 'none';
  f.debtPercent = r?.percent ?? '';
  f.debtAmount = toMajor(r?.amount_minor, d);
  f.debtCeiling = toMajor(r?.ceiling_minor, d);
  f.debtMonthlyCap = toMajor(r?.monthly_cap_minor, d);
  f.minPurchase = toMajor(s.min_purchase_minor, d);
  f.maxPurchase = toMajor(s.max_purchase_minor, d);
  return f;
}

/** Thrown for form values that are not numbers; the server validates the rules. */
export class FormError extends Error {}

function minor(text: string, what: string, digits: number): number | null {
  const v = toMinor(text, digits);
  if (v !== null && Number.isNaN(v)) throw new FormError(`${what}: "${text}" is not an amount.`);
  return v;
}

function dec(text: string): string {
  return text.trim();
}

/** The components document sent to the API (server-side validation gives the rule messages). */
export function structureFromForm(f: TariffForm): Record<string, unknown> {
  const d = f.digits;
  let energy: Record<string, unknown>;
  if (f.energyKind === 'flat') energy = { kind: 'flat', rate: dec(f.flatRate) };
  else if (f.energyKind === 'block')
    energy = {
      kind: 'block',
      blocks: f.blocks.map((b) => ({ up_to_kwh: b.upTo.trim() === '' ? null : dec(b.upTo), rate: dec(b.rate) })),
    };
  else
    energy = {
      kind: 'tou',
      bands: f.bands.map((b) => ({ code: b.code.trim(), name: b.name.trim(), rate: dec(b.rate) })),
      schedule: Object.fromEntries(DAY_TYPES.map((day) => [day, f.schedule[day].map((p) => ({ ...p }))])),
    };
  const out: Record<string, unknown> = {
    energy,
    fixed_charges: f.fixed.map((c) => ({
      name: c.name.trim(),
      amount_minor: minor(c.amount, `Fixed charge '${c.name}'`, d) ?? 0,
      taxable: c.taxable,
    })),
    taxes: f.taxes.map((t) =>
      t.kind === 'percent'
        ? { name: t.name.trim(), percent: dec(t.value), applies_to: t.appliesTo }
        : { name: t.name.trim(), per_kwh: dec(t.value), applies_to: 'energy' },
    ),
  };
  if (d !== 2) out.currency_digits = d;
  if (f.demandRate.trim()) out.demand = { rate_per_kva: dec(f.demandRate) };
  if (f.pfTarget.trim() || f.pfPenalty.trim())
    out.power_factor = { target: dec(f.pfTarget), penalty_percent_per_step: dec(f.pfPenalty) };
  if (f.fbeKwh.trim()) out.free_basic = { kwh_per_month: dec(f.fbeKwh) };
  if (f.debtMode !== 'none') {
    out.debt_recovery = {
      mode: f.debtMode,
      percent: f.debtMode === 'percent' ? dec(f.debtPercent) : null,
      amount_minor: f.debtMode === 'fixed' ? minor(f.debtAmount, 'Debt recovery amount', d) : null,
      ceiling_minor: minor(f.debtCeiling, 'Debt recovery ceiling', d),
      monthly_cap_minor: minor(f.debtMonthlyCap, 'Debt recovery monthly cap', d),
    };
  }
  const min = minor(f.minPurchase, 'Minimum purchase', d);
  const max = minor(f.maxPurchase, 'Maximum purchase', d);
  if (min !== null) out.min_purchase_minor = min;
  if (max !== null) out.max_purchase_minor = max;
  return out;
}

/** ISO timestamp → value for <input type="datetime-local"> (browser's local time). */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): string {
  return new Date(value).toISOString();
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function energySummary(s: Structure): string {
  const e = s.energy;
  if (e.kind === 'flat') return `Flat ${e.rate} per kWh`;
  if (e.kind === 'block') return `Blocks: ${e.blocks.map((b) => `${b.rate}${b.up_to_kwh ? ` to ${b.up_to_kwh} kWh` : ''}`).join(', ')}`;
  return `Time of use: ${e.bands.map((b) => `${b.name} ${b.rate}`).join(', ')}`;
}
