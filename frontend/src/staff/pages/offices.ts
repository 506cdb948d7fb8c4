/** Offices (org units) on the staff pages: which may own records, how one is named, the default. */
import type { Me, OrgUnit } from '../../lib/api/types';

/**
 * Org units that may own customers, network equipment and supply points: regions and stations
 * (not the utility itself).
 */
export function owningUnits(units: readonly OrgUnit[]): OrgUnit[] {
  return units.filter((u) => u.active && (u.kind === 'region' || u.kind === 'station'));
}

/** "NBO — Nairobi region"; the id when the unit is not known, '—' for none. */
export function unitName(units: readonly OrgUnit[], id: number | null | undefined): string {
  const unit = units.find((u) => u.id === id);
  return unit ? `${unit.code} — ${unit.name}` : id == null ? '—' : String(id);
}

/** The user's own office when it is one of `choices`, else '': the default office of a new record. */
export function ownOffice(me: Me, choices: readonly OrgUnit[]): string {
  const own = me.org_unit;
  return own && choices.some((u) => u.id === own.id) ? String(own.id) : '';
}
