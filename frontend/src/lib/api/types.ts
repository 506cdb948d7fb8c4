/**
 * Named API types, derived from the generated OpenAPI schema by path + method
 * (so they do not depend on how the backend names its schema components).
 */
import type { Operation, PathsWith, ResponseBody } from './client';

type Get<P extends PathsWith<'get'>> = ResponseBody<Operation<P, 'get'>>;

export type Me = Get<'/api/v1/auth/me'>;
export type PortalMe = Get<'/api/v1/portal/auth/me'>;
export type LoginResult = ResponseBody<Operation<'/api/v1/auth/login', 'post'>>;
export type OrgUnitRef = NonNullable<Me['org_unit']>;

export type UserList = Get<'/api/v1/users'>;
export type UserOut = UserList['items'][number];

export type AuditEventList = Get<'/api/v1/audit-events'>;
export type AuditEvent = AuditEventList['items'][number];

export type OrgUnitList = Get<'/api/v1/org-units'>;
export type OrgUnit = OrgUnitList['items'][number];

export type Health = Get<'/api/v1/health'>;
