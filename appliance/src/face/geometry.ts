// Pure measurements on face descriptors and 68-point landmarks (iBUG layout: jaw 0–16, brows 17–26, nose 27–35,
// eyes 36–41 and 42–47, outer lips 48–59, inner lips 60–67). Coordinates are image pixels.

export function euclidean(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Distance thresholds of the built-in engine: below `match` → match, below `review` → review, else no match. */
export interface DistanceThresholds {
  match: number;
  review: number;
}

/** The appliance's score scale: 0..1, higher = more alike. */
export function scoreOf(distance: number): number {
  return Math.round(Math.min(1, Math.max(0, 1 - distance)) * 10000) / 10000;
}

export function decide(distance: number, t: DistanceThresholds): 'match' | 'review' | 'no_match' {
  if (distance < t.match) return 'match';
  if (distance < t.review) return 'review';
  return 'no_match';
}

const pt = (l: readonly number[], i: number): [number, number] => [l[2 * i] as number, l[2 * i + 1] as number];
const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const mean = (ps: [number, number][]): [number, number] => [ps.reduce((s, p) => s + p[0], 0) / ps.length, ps.reduce((s, p) => s + p[1], 0) / ps.length];
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/**
 * Head yaw from the nose tip's horizontal offset to the eyes' midpoint, in inter-ocular distances. 0 = frontal;
 * positive = nose towards the image's right (the person turned to their own left, seen by an unmirrored camera).
 */
export function yawRatio(l: readonly number[]): number {
  const eyeA = mean(range(36, 41).map((i) => pt(l, i)));
  const eyeB = mean(range(42, 47).map((i) => pt(l, i)));
  const iod = dist(eyeA, eyeB);
  if (iod === 0) return 0;
  const mid: [number, number] = [(eyeA[0] + eyeB[0]) / 2, (eyeA[1] + eyeB[1]) / 2];
  // measured along the eye line, so a tilted (rolled) head does not read as a turn
  const ux = (eyeB[0] - eyeA[0]) / iod;
  const uy = (eyeB[1] - eyeA[1]) / iod;
  const nose = pt(l, 30);
  return ((nose[0] - mid[0]) * ux + (nose[1] - mid[1]) * uy) / iod;
}

/** Eye aspect ratio (Soukupová & Čech), both eyes averaged: ~0.25–0.35 open, below ~0.15 closed. */
export function eyeAspectRatio(l: readonly number[]): number {
  const ear = (o: number) => (dist(pt(l, o + 1), pt(l, o + 5)) + dist(pt(l, o + 2), pt(l, o + 4))) / (2 * dist(pt(l, o), pt(l, o + 3)) || 1);
  return (ear(36) + ear(42)) / 2;
}

/** Mouth opening: inner-lip gap over mouth width. ~0 closed, above ~0.3 clearly open. */
export function mouthOpenRatio(l: readonly number[]): number {
  const gap = (dist(pt(l, 61), pt(l, 67)) + dist(pt(l, 62), pt(l, 66)) + dist(pt(l, 63), pt(l, 65))) / 3;
  const width = dist(pt(l, 48), pt(l, 54));
  return width === 0 ? 0 : gap / width;
}

/**
 * How dark the eyes' openings are: the share of pixels inside the two eye outlines (landmarks 36–41, 42–47, shrunk
 * a little towards their centres) darker than half the cheeks' median brightness. An open eye shows its iris and
 * pupil there; a closed one shows the lid's skin. The 68-point model keeps drawing the outline of an open eye over a
 * closed one (its eye aspect ratio hardly moves), so the pixels, not the outline, tell open from closed.
 * `pixels` is RGB (channels 3) or RGBA (channels 4), row by row. Self-contained on purpose: the face worker thread
 * runs this very function's source.
 */
export function eyeDarkness(pixels: ArrayLike<number>, width: number, height: number, channels: number, l: readonly number[]): number {
  const lum = (x: number, y: number): number => {
    const xi = Math.min(width - 1, Math.max(0, Math.round(x)));
    const yi = Math.min(height - 1, Math.max(0, Math.round(y)));
    const i = (yi * width + xi) * channels;
    return 0.299 * (pixels[i] as number) + 0.587 * (pixels[i + 1] as number) + 0.114 * (pixels[i + 2] as number);
  };
  const px = (i: number): number => l[2 * i] as number;
  const py = (i: number): number => l[2 * i + 1] as number;
  const iod = Math.hypot(px(42) - px(39), py(42) - py(39)) || 1;
  // the cheeks: between the jaw line and the nostrils, below each eye
  const skin: number[] = [];
  const r = Math.max(2, Math.round(iod * 0.3));
  for (const [a, b] of [
    [2, 31],
    [14, 35],
  ]) {
    const cx = (px(a as number) + px(b as number)) / 2;
    const cy = (py(a as number) + py(b as number)) / 2;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) skin.push(lum(cx + dx, cy + dy));
  }
  skin.sort((p, q) => p - q);
  const dark = 0.5 * (skin[Math.floor(skin.length / 2)] as number);
  let inside = 0;
  let darkCount = 0;
  for (const first of [36, 42]) {
    let cx = 0;
    let cy = 0;
    for (let k = 0; k < 6; k++) {
      cx += px(first + k) / 6;
      cy += py(first + k) / 6;
    }
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < 6; k++) {
      xs.push(cx + (px(first + k) - cx) * 0.85);
      ys.push(cy + (py(first + k) - cy) * 0.85);
    }
    for (let y = Math.floor(Math.min(...ys)); y <= Math.ceil(Math.max(...ys)); y++) {
      for (let x = Math.floor(Math.min(...xs)); x <= Math.ceil(Math.max(...xs)); x++) {
        // even–odd rule over the outline's six edges
        let odd = false;
        for (let k = 0, j = 5; k < 6; j = k++) {
          const yk = ys[k] as number;
          const yj = ys[j] as number;
          if (yk > y !== yj > y && x < (((xs[j] as number) - (xs[k] as number)) * (y - yk)) / (yj - yk) + (xs[k] as number)) odd = !odd;
        }
        if (!odd) continue;
        inside += 1;
        if (lum(x, y) < dark) darkCount += 1;
      }
    }
  }
  return inside === 0 ? 0 : darkCount / inside;
}
