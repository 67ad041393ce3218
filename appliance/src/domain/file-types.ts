/**
 * Files exchanged in a session: only types a bank needs (photos of documents, PDFs), recognised by their content,
 * never by the name or the type the browser claims.
 */
export const ALLOWED_FILE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'application/pdf'] as const;
export type AllowedFileType = (typeof ALLOWED_FILE_TYPES)[number];
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** What one session may hold: files, and their bytes together (each file is stored encrypted in the database). */
export const MAX_SESSION_FILES = 50;
export const MAX_SESSION_FILE_BYTES = 100 * 1024 * 1024;

export function sniffFileType(head: Buffer): AllowedFileType | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 12 && head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (head.length >= 5 && head.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  return null;
}

const EXTENSIONS: Record<AllowedFileType, string> = { 'image/png': '.png', 'image/jpeg': '.jpg', 'image/webp': '.webp', 'application/pdf': '.pdf' };

/**
 * A display name that is safe anywhere: no path, no control or markup characters, bounded length, and the
 * extension of the real type.
 */
export function sanitizeFileName(name: string, type: AllowedFileType): string {
  const base = (name.split(/[\\/]/).pop() ?? '')
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"|?*`$%&;{}[\]]/g, '')
    .replace(/\.[^.]*$/, '')
    .trim()
    .slice(0, 80);
  return `${base || 'file'}${EXTENSIONS[type]}`;
}
