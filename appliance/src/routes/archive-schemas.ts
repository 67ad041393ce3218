import { Type } from 'typebox';

/**
 * Small schemas the archive's route families share (search and timeline, replay, review); the ones every route uses
 * (Uuid, IdParams, Nullable, DateTime) are in lib/schema.ts, the vocabularies' schemas in api-types.ts.
 */
export const PartySchema = Type.Union([Type.Literal('teller'), Type.Literal('customer')]);
export const IssueSchema = Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() });
