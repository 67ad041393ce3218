import { Type } from 'typebox';

/** Small schemas the archive's route families share (search and timeline, replay, review). */
export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const DateTime = Type.String({ format: 'date-time' });
export const RecordingStatusSchema = Type.Union([Type.Literal('queued'), Type.Literal('processing'), Type.Literal('sealed'), Type.Literal('failed')]);
export const PartySchema = Type.Union([Type.Literal('teller'), Type.Literal('customer')]);
export const IssueSchema = Type.Object({ code: Type.String(), severity: Type.String(), message: Type.String() });
