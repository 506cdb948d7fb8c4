/**
 * The staff app's areas: route, navigation label and what the page is for.
 * Who may see an area is decided by `canSee` (src/lib/access.ts), not here.
 */
import type { Area } from '../lib/access';

export interface AreaInfo {
  area: Area;
  /** Base-relative route ("/staff" + path). */
  path: string;
  label: string;
  /** Navigation group: main list or the Administration group. */
  group: 'main' | 'admin';
  /** One sentence on what the area is for (shown until the area is built). */
  blurb: string;
}

export const AREAS: readonly AreaInfo[] = [
  {
    area: 'dashboard',
    path: '/',
    label: 'Dashboard',
    group: 'main',
    blurb: 'An overview of your work today: sales, alerts and tasks for your role and office.',
  },
  {
    area: 'vending',
    path: '/vending',
    label: 'Vending',
    group: 'main',
    blurb: 'Sell prepaid electricity tokens over the counter, print receipts, reprint lost tokens and manage your cash-up.',
  },
  {
    area: 'customers',
    path: '/customers',
    label: 'Customers',
    group: 'main',
    blurb: 'Find and register customers, view their accounts, meters, purchases and contact details.',
  },
  {
    area: 'meters',
    path: '/meters',
    label: 'Meters',
    group: 'main',
    blurb: 'Register prepayment meters, assign them to customers and issue key-change and engineering tokens.',
  },
  {
    area: 'network',
    path: '/network',
    label: 'Network',
    group: 'main',
    blurb: 'The supply network: regions, stations, feeders and transformers, and which meters they serve.',
  },
  {
    area: 'keys',
    path: '/keys',
    label: 'Keys',
    group: 'main',
    blurb: 'Vending keys (never their material) and scheduled meter key changes.',
  },
  {
    area: 'engineering',
    path: '/engineering',
    label: 'Engineering',
    group: 'main',
    blurb: 'Engineering and free tokens with second-person approval, key change campaigns and token diagnosis.',
  },
  {
    area: 'tariffs',
    path: '/tariffs',
    label: 'Tariffs',
    group: 'main',
    blurb: 'Tariff plans with energy blocks, fixed charges, levies and taxes, and the dates they take effect.',
  },
  {
    area: 'billing',
    path: '/billing',
    label: 'Billing',
    group: 'main',
    blurb: 'Billing runs, invoices, account balances and arrears recovery on prepaid purchases.',
  },
  {
    area: 'reports',
    path: '/reports',
    label: 'Reports',
    group: 'main',
    blurb: 'Sales, revenue and collection reports by region, station, vendor and cashier, with exports.',
  },
  {
    area: 'credit_notes',
    path: '/reports/credit-notes',
    label: 'Credit notes',
    group: 'main',
    blurb: 'Reversal requests for issued tokens, waiting for a supervisor to approve or reject.',
  },
  {
    area: 'admin_users',
    path: '/admin/users',
    label: 'Users',
    group: 'admin',
    blurb: 'Staff user accounts, their roles and offices.',
  },
  {
    area: 'audit_log',
    path: '/admin/audit',
    label: 'Audit log',
    group: 'admin',
    blurb: 'Tamper-evident record of who did what, and when.',
  },
];

export function areaForPath(path: string): AreaInfo | undefined {
  // Exact match first, then an area's sub-pages ("/meters/42" belongs to "/meters").
  return AREAS.find((a) => a.path === path) ?? AREAS.find((a) => a.path !== '/' && path.startsWith(`${a.path}/`));
}
