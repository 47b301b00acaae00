// Packed-color functions (reference analytics.md §2.2): colors are UINTEGER 0xRRGGBBAA, float channels
// are 0..1 and quantized with round-half-up, clamped at the byte. color_scale samples the colormaps as
// upstream's colorous crate does, in single precision: a uniform cubic B-spline through the 256
// matplotlib colors, and the published polynomial fits for turbo and cividis.
import { DOUBLE, DuckDBScalarFunction, UINTEGER, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { INFERNO, MAGMA, PLASMA, VIRIDIS } from './functions_colormaps.ts';

const f32 = Math.fround;

/** Rust's saturating `f as u8`: truncation, NaN → 0. */
function toU8(v: number): number {
  if (Number.isNaN(v) || v <= 0) return 0;
  return v >= 255 ? 255 : Math.trunc(v);
}

const clamp = (v: number, lo: number, hi: number) => (Number.isNaN(v) ? v : Math.min(hi, Math.max(lo, v)));

/** A 0..1 float as a byte, round-half-up; out of range saturates, NaN is 0. */
export function floatToByte(f: number): number {
  return toU8(clamp(f * 255 + 0.5, 0, 255));
}

export function packRgba(r: number, g: number, b: number, a: number): number {
  return ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

export function rgba(r: number, g: number, b: number, a: number): number {
  return packRgba(floatToByte(r), floatToByte(g), floatToByte(b), floatToByte(a));
}

export function lerpColor(c1: number, c2: number, t: number): number {
  const tc = clamp(t, 0, 1);
  const channel = (shift: number) => {
    const a = (c1 >>> shift) & 0xff;
    const b = (c2 >>> shift) & 0xff;
    return toU8(clamp(a + (b - a) * tc + 0.5, 0, 255));
  };
  return packRgba(channel(24), channel(16), channel(8), channel(0));
}

type Rgb = [number, number, number];

function table(hex: string): Uint8Array[] {
  const n = hex.length / 6;
  const channels = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) channels[c]![i] = parseInt(hex.slice(6 * i + 2 * c, 6 * i + 2 * c + 2), 16);
  return channels;
}

/** Uniform cubic B-spline through the control values, t in 0..1, every step rounded to f32 as in Rust. */
function basis(values: Uint8Array, t: number): number {
  const n = values.length - 1;
  const i = Math.min(Math.floor(f32(t * n)), n - 1);
  const v1 = values[i]!;
  const v2 = values[i + 1]!;
  const v0 = i > 0 ? values[i - 1]! : f32(f32(2 * v1) - v2);
  const v3 = i < n - 1 ? values[i + 2]! : f32(f32(2 * v2) - v1);
  const t1 = f32(f32(t - f32(i / n)) * n);
  const t2 = f32(t1 * t1);
  const t3 = f32(t2 * t1);
  const w0 = f32(f32(f32(1 - f32(3 * t1)) + f32(3 * t2)) - t3);
  const w1 = f32(f32(4 - f32(6 * t2)) + f32(3 * t3));
  const w2 = f32(f32(f32(1 + f32(3 * t1)) + f32(3 * t2)) - f32(3 * t3));
  const sum = f32(f32(f32(f32(w0 * v0) + f32(w1 * v1)) + f32(w2 * v2)) + f32(t3 * v3));
  return toU8(f32(sum / 6));
}

function spline(channels: Uint8Array[]): (t: number) => Rgb {
  return (t) => [basis(channels[0]!, t), basis(channels[1]!, t), basis(channels[2]!, t)];
}

/** Horner evaluation of c0 + t(c1 ± t(c2 ± …)) in f32; signs[k] is the sign before the k-th nested term. */
function poly(t: number, coefficients: readonly number[], signs: readonly number[]): number {
  let acc = f32(coefficients[coefficients.length - 1]!);
  for (let k = coefficients.length - 2; k >= 0; k--) {
    const term = f32(t * acc);
    acc = signs[k]! > 0 ? f32(f32(coefficients[k]!) + term) : f32(f32(coefficients[k]!) - term);
  }
  return acc;
}

// Turbo (Mikhailov 2019) and cividis (Nuñez et al. 2018) polynomial fits as published in d3-scale-chromatic.
function turbo(t: number): Rgb {
  const sat = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : toU8(v));
  return [
    sat(poly(t, [34.61, 1172.33, 10793.56, 33300.12, 38394.49, 14825.05], [1, -1, -1, -1, -1])),
    sat(poly(t, [23.31, 557.33, 1225.33, 3574.96, 1073.77, 707.56], [1, 1, -1, -1, 1])),
    sat(poly(t, [27.2, 3211.1, 15327.97, 27814.0, 22569.18, 6838.66], [1, -1, -1, -1, -1])),
  ];
}

function cividis(t: number): Rgb {
  const sat = (v: number) => toU8(clamp(v, 0, 255));
  return [
    sat(poly(t, [-4.54, 35.34, 2381.73, 6402.7, 7024.72, 2710.57], [-1, -1, -1, -1, -1])),
    sat(poly(t, [32.49, 170.73, 52.82, 131.46, 176.58, 67.37], [1, 1, -1, -1, -1])),
    sat(poly(t, [81.24, 442.36, 2482.43, 6167.24, 6614.94, 2475.67], [1, -1, -1, -1, -1])),
  ];
}

const COLORMAPS: Record<string, (t: number) => Rgb> = {
  viridis: spline(table(VIRIDIS)),
  magma: spline(table(MAGMA)),
  plasma: spline(table(PLASMA)),
  inferno: spline(table(INFERNO)),
  cividis,
  turbo,
};

/** color_scale(name, t, alpha): the colormap at t (clamped, NaN → 0) with the given alpha. */
export function colorScale(name: string, t: number, alpha: number): number {
  const map = COLORMAPS[name.toLowerCase()];
  if (!map) throw new Error(`color_scale(): unknown colormap '${name}'. Recognized: ${Object.keys(COLORMAPS).join(', ')}`);
  const tc = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const [r, g, b] = map(f32(tc));
  return packRgba(r, g, b, floatToByte(alpha));
}

function scalar(name: string, returnType: DuckDBType, parameterTypes: DuckDBType[], fn: (...args: never[]) => number): DuckDBScalarFunction {
  return DuckDBScalarFunction.create({
    name,
    returnType,
    parameterTypes,
    mainFunction: (info, input, output) => {
      const vectors = parameterTypes.map((_, i) => input.getColumnVector(i));
      try {
        for (let row = 0; row < input.rowCount; row++) {
          const args = vectors.map((v) => v.getItem(row));
          output.setItem(row, args.some((a) => a === null) ? null : (fn as (...a: unknown[]) => number)(...args));
        }
        output.flush();
      } catch (err) {
        info.setError((err as Error).message);
      }
    },
  });
}

export function colorFunctions(): DuckDBScalarFunction[] {
  return [
    scalar('rgba', UINTEGER, [DOUBLE, DOUBLE, DOUBLE, DOUBLE], rgba),
    scalar('lerp_color', UINTEGER, [UINTEGER, UINTEGER, DOUBLE], lerpColor),
    scalar('color_scale', UINTEGER, [VARCHAR, DOUBLE, DOUBLE], colorScale),
  ];
}

/** Plain float helpers, unclamped (bin_center: bins of width `cell` centered on zero, half-open). */
export const MATH_MACROS: readonly string[] = [
  `CREATE MACRO lerp(a, b, t) AS CAST(a AS DOUBLE) + (CAST(b AS DOUBLE) - CAST(a AS DOUBLE)) * CAST(t AS DOUBLE)`,
  `CREATE MACRO unlerp(a, b, x) AS (CAST(x AS DOUBLE) - CAST(a AS DOUBLE)) / (CAST(b AS DOUBLE) - CAST(a AS DOUBLE))`,
  `CREATE MACRO bin_center(c, cs) AS floor((CAST(c AS DOUBLE) + CAST(cs AS DOUBLE) * 0.5) / CAST(cs AS DOUBLE)) * CAST(cs AS DOUBLE)`,
];
