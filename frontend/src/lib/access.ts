/**
 * Who may see which staff area. THE role table: navigation, route guards and
 * page visibility all go through `canSee`. (The backend enforces the same rules
 * on its API; this only decides what the UI offers.)
 */

export const ROLES = [
  'admin',
  'supervisor',
  'cashier',
  'billing_clerk',
  'engineer',
  'auditor',
  'agent',
  'api_client',
  'customer',
] as const;

export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Administrator',
  supervisor: 'Supervisor',
  cashier: 'Cashier',
  billing_clerk: 'Billing clerk',
  engineer: 'Engineer',
  auditor: 'Auditor',
  agent: 'Agent',
  api_client: 'API client',
  customer: 'Customer',
};

const STAFF_ROLES: readonly Role[] = ['admin', 'supervisor', 'cashier', 'billing_clerk', 'engineer', 'auditor', 'agent'];

export const AREA_ACCESS = {
  dashboard: STAFF_ROLES,
  vending: ['cashier', 'supervisor'],
  customers: ['billing_clerk', 'supervisor', 'cashier', 'admin', 'auditor'],
  meters: ['engineer', 'supervisor', 'admin', 'auditor'],
  network: ['engineer', 'admin', 'supervisor', 'auditor'],
  keys: ['engineer', 'admin', 'auditor'],
  engineering: ['engineer', 'supervisor', 'admin', 'auditor'],
  tariffs: ['admin', 'supervisor', 'billing_clerk', 'auditor'],
  billing: ['billing_clerk', 'supervisor', 'auditor'],
  reports: ['supervisor', 'admin', 'auditor'],
  credit_notes: ['supervisor', 'admin', 'auditor'],
  admin_users: ['admin'],
  audit_log: ['admin', 'auditor'],
} as const satisfies Record<string, readonly Role[]>;

export type Area = keyof typeof AREA_ACCESS;

/** True when a user holding `roles` may see `area`. Unknown role strings are ignored. */
export function canSee(area: Area, roles: readonly string[]): boolean {
  const allowed: readonly string[] = AREA_ACCESS[area];
  return roles.some((role) => allowed.includes(role));
}

export function roleLabel(role: string): string {
  return (ROLE_LABELS as Record<string, string>)[role] ?? role;
}
