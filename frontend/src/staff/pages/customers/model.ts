/** Types and labels of the customers area, derived from the generated OpenAPI schema. */
import type { Operation, PathsWith, RequestBody, ResponseBody } from '../../../lib/api/client';
import { changedFields } from '../../../lib/form.svelte';

type Get<P extends PathsWith<'get'>> = ResponseBody<Operation<P, 'get'>>;

export type CustomerList = Get<'/api/v1/customers'>;
export type Customer = CustomerList['items'][number];
export type CustomerDetail = Get<'/api/v1/customers/{customer_id}'>;
export type Account = CustomerDetail['accounts'][number];
export type SearchHit = Get<'/api/v1/customers/search'>['items'][number];
export type CustomerCreate = RequestBody<Operation<'/api/v1/customers', 'post'>>;
export type CustomerUpdate = RequestBody<Operation<'/api/v1/customers/{customer_id}', 'patch'>>;
export type AccountOpen = RequestBody<Operation<'/api/v1/accounts', 'post'>>;
export type StatusChange = RequestBody<Operation<'/api/v1/accounts/{account_id}/status', 'post'>>;
export type TenancyChange = RequestBody<Operation<'/api/v1/accounts/{account_id}/change-tenancy', 'post'>>;
export type TenancyChanged = ResponseBody<Operation<'/api/v1/accounts/{account_id}/change-tenancy', 'post'>>;
export type SupplyPoint = Get<'/api/v1/network/supply-points'>['items'][number];
export type Tariff = Get<'/api/v1/tariffs'>['items'][number];

export type Kind = Customer['kind'];
export type Category = Customer['category'];
export type AccountStatus = Account['status'];
export type PaymentMode = Account['payment_mode'];
export type Language = NonNullable<CustomerCreate['language']>;

export const KIND_LABELS: Record<Kind, string> = { person: 'Person', company: 'Company' };

export const CATEGORY_LABELS: Record<Category, string> = {
  residential: 'Residential',
  commercial: 'Commercial',
  industrial: 'Industrial',
};

export const ACCOUNT_STATUS_LABELS: Record<AccountStatus, string> = {
  applied: 'Applied',
  active: 'Active',
  suspended: 'Suspended',
  closed: 'Closed',
};

export const PAYMENT_MODE_LABELS: Record<PaymentMode, string> = { prepaid: 'Prepaid', postpaid: 'Postpaid' };

export const LANGUAGE_LABELS: Record<Language, string> = {
  en: 'English',
  sw: 'Kiswahili',
  fr: 'Français',
  pt: 'Português',
  ar: 'العربية',
  so: 'Soomaali',
};

/** What a search term matched (the `matched` of a search hit). */
export const MATCHED_LABELS: Record<string, string> = {
  name: 'name',
  phone: 'phone',
  account: 'account number',
  meter: 'meter number',
  customer_no: 'customer number',
  id_number: 'ID number',
};

/** Who may register and edit customers and run their accounts (the API enforces the same). */
export function canWrite(roles: readonly string[]): boolean {
  return roles.some((r) => r === 'admin' || r === 'supervisor' || r === 'billing_clerk');
}

/** Tariffs an account with this payment mode may use (a tariff is for one mode, or for "any"). */
export function tariffsFor(tariffs: readonly Tariff[], mode: PaymentMode): Tariff[] {
  return tariffs.filter((t) => t.payment_mode === mode || t.payment_mode === 'any');
}

export function label<K extends string>(labels: Record<K, string>, key: string): string {
  return (labels as Record<string, string>)[key] ?? key;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
export function day(at: string | null | undefined): string {
  if (!at) return '—';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : dateFormat.format(d);
}

/** The editable fields of a customer as typed in the form ('' = empty). */
export interface CustomerDraft {
  name: string;
  kind: Kind;
  id_number: string;
  phone: string;
  phone2: string;
  email: string;
  language: Language;
  category: Category;
  postal_address: string;
  org_unit_id: string;
}

export function emptyDraft(orgUnitId: number | null): CustomerDraft {
  return {
    name: '',
    kind: 'person',
    id_number: '',
    phone: '',
    phone2: '',
    email: '',
    language: 'en',
    category: 'residential',
    postal_address: '',
    org_unit_id: orgUnitId === null ? '' : String(orgUnitId),
  };
}

export function draftOf(c: Customer): CustomerDraft {
  return {
    name: c.name,
    kind: c.kind,
    id_number: c.id_number ?? '',
    phone: c.phone ?? '',
    phone2: c.phone2 ?? '',
    email: c.email ?? '',
    language: (c.language in LANGUAGE_LABELS ? c.language : 'en') as Language,
    category: c.category,
    postal_address: c.postal_address ?? '',
    org_unit_id: String(c.org_unit_id),
  };
}

function optional(text: string): string | null {
  return text.trim() || null;
}

export function createBody(d: CustomerDraft): CustomerCreate {
  return {
    name: d.name.trim(),
    kind: d.kind,
    id_number: optional(d.id_number),
    phone: optional(d.phone),
    phone2: optional(d.phone2),
    email: optional(d.email),
    language: d.language,
    category: d.category,
    postal_address: optional(d.postal_address),
    org_unit_id: d.org_unit_id ? Number(d.org_unit_id) : null,
  };
}

/** Only the fields that differ from the customer as loaded (an emptied optional field becomes null). */
export function customerChanges(before: Customer, d: CustomerDraft): CustomerUpdate {
  const { org_unit_id, ...fields } = createBody(d);
  return changedFields(before, { ...fields, org_unit_id: org_unit_id ?? undefined });
}
