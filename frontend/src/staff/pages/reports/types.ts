import type { Operation, PathsWith, ResponseBody } from '../../../lib/api/client';

export type Get<P extends PathsWith<'get'>> = ResponseBody<Operation<P, 'get'>>;
