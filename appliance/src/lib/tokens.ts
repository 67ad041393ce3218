import { createHash, randomBytes } from 'node:crypto';

/** Opaque bearer secrets (sign-in sessions, invitation links) are stored only as their SHA-256. */
export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();
export const newOpaqueToken = (): string => randomBytes(32).toString('base64url');
