// Log levels, numbered like upstream (levels.rs): a lower number is more severe.
export enum Level {
  Fatal = 1,
  Error = 2,
  Warn = 3,
  Info = 4,
  Debug = 5,
  Trace = 6,
}

/** Metric / span verbosity ("lod" upstream). */
export enum Verbosity {
  Min = 1,
  Med = 2,
  Max = 3,
}

export function isLevel(value: unknown): value is Level {
  return typeof value === 'number' && Number.isInteger(value) && value >= Level.Fatal && value <= Level.Trace;
}
