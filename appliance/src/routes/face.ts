import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app-context.js';
import { auditedTransaction } from '../http/audited-transaction.js';
import { AppError, type ErrorName } from '../http/errors.js';
import { FaceImageError } from '../face/index.js';
import { authErrors, ErrorResponse } from './schemas.js';

const Base64 = Type.String({ minLength: 1, pattern: '^[A-Za-z0-9+/]+={0,2}$' });
const CompareBody = Type.Object({ reference: Base64, probe: Base64 }, { additionalProperties: false });
const CompareResult = Type.Object({
  score: Type.Number({ minimum: 0, maximum: 1 }),
  decision: Type.Union([Type.Literal('match'), Type.Literal('review'), Type.Literal('no_match')]),
  engine: Type.String(),
  modelVersion: Type.String(),
  thresholds: Type.Object({ match: Type.Number(), review: Type.Number() }),
  faces: Type.Object({ reference: Type.Integer(), probe: Type.Integer() }),
});

const ERROR_NAME: Record<FaceImageError['code'], ErrorName> = {
  KYC_ERR_IMAGE_INVALID: 'IMAGE_INVALID',
  KYC_ERR_NO_FACE: 'NO_FACE',
  KYC_ERR_MULTIPLE_FACES: 'MULTIPLE_FACES',
  KYC_ERR_IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
};

/** An engine's refusal of an image as the API's error (400, or 413 for a too-large image), naming the image. */
export function faceImageAppError(err: FaceImageError): AppError {
  return new AppError(ERROR_NAME[err.code], err.message, err.which ? [{ field: err.which, code: err.code }] : undefined);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Calibration: an auditor or admin compares two images with the configured engine. Audited; images are not stored. */
export async function faceRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const maxImage = ctx.config.face.maxImageBytes;
  // two base64 images and the JSON around them; anything larger is refused before it is parsed (413)
  const bodyLimit = Math.ceil((2 * maxImage * 4) / 3) + 4096;

  r.post(
    '/api/face/compare',
    {
      bodyLimit,
      config: { access: { roles: ['auditor', 'admin'] }, audit: 'face.compare' },
      schema: {
        tags: ['face'],
        summary: "Compare the faces in two images (calibration): score 0..1 (higher = more alike, the hook's scale), decision, engine, faces found in each. Images are not stored.",
        body: CompareBody,
        response: { 200: CompareResult, 400: ErrorResponse, 413: ErrorResponse, ...authErrors },
      },
    },
    async (request) => {
      const images = { reference: Buffer.from(request.body.reference, 'base64'), probe: Buffer.from(request.body.probe, 'base64') };
      for (const [which, b] of Object.entries(images)) {
        if (b.length > maxImage) throw new AppError('IMAGE_TOO_LARGE', `${which}: an image may be at most ${maxImage} bytes.`, [{ field: which, code: 'KYC_ERR_IMAGE_TOO_LARGE' }]);
      }
      let result;
      try {
        result = await ctx.face.engine.compare(images.reference, images.probe, { requestId: String(request.id) });
      } catch (err) {
        if (err instanceof FaceImageError) throw faceImageAppError(err);
        throw err;
      }
      await auditedTransaction(ctx.pool, ctx.audit, request, async (_client, write) => {
        await write({
          object: null,
          details: {
            engine: result.engine,
            score: result.score,
            decision: result.decision,
            referenceSha256: sha256(images.reference),
            probeSha256: sha256(images.probe),
          },
        });
      });
      return {
        score: result.score,
        decision: result.decision,
        engine: result.engine,
        modelVersion: result.modelVersion,
        thresholds: result.thresholds,
        faces: result.faces,
      };
    },
  );
}
