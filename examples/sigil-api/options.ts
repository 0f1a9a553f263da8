/**
 * Options of the example Sigil API: one table that drives the command line, the
 * validation of programmatic options and the help text, so the three cannot disagree.
 */

/** Options of `startExampleApi`; each mirrors a command-line switch in camelCase. */
export interface ExampleApiOptions {
  /** TCP port, where 0 picks a free one. Default 3000. */
  port?: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Value of the `version` label of `sigil_app_info`. */
  versionLabel?: string;

  /** Client credentials accepted by `POST /sigil/api/auth/token`. */
  clientId?: string;
  clientSecret?: string;
  /** Bearer token that never expires, or an empty string to disable it. Default `demo-token`. */
  staticToken?: string;
  /** Lifetime of issued tokens in seconds. Default 3600. */
  tokenTtlS?: number;

  /** Live JS heap retained per minute of uptime, in MB (2^20 bytes). */
  leakHeapMbPerMin?: number;
  /** Upper bound of the heap leak in MB, so a long run cannot exhaust the machine. */
  leakHeapMaxMb?: number;
  /** File descriptors on /dev/null opened and kept per minute of uptime. */
  leakFdsPerMin?: number;
  /** Delay of every API response in ms, so the API responds in tens of ms like a real one. Default 0. */
  baseLatencyMs?: number;
  /** Response delay added per minute of uptime, in ms. */
  driftMsPerMin?: number;
  /** Fraction of valid API requests that get a 500 response. */
  errorRate?: number;
  /** Added to the error rate per minute of uptime (the sum is capped at 1). */
  errorRateRisePerMin?: number;
  /** Fraction of API requests delayed by `slowMs`. */
  slowRate?: number;
  slowMs?: number;
  /** Fraction of API requests whose socket is destroyed without a response. */
  resetRate?: number;
  /** Seconds after start when a one-off stall begins, and its length. */
  stallAtS?: number;
  stallForS?: number;
  /** Seconds after start when the listener closes, and how long it stays closed. */
  downAtS?: number;
  downForS?: number;
  /** Period of simulated restarts, which drop leaks, store and issued tokens. */
  restartEveryS?: number;
  /** Heap growth in MB spread over the first `warmupS` seconds of uptime. */
  warmupGrowthMb?: number;
  warmupS?: number;
}

/** Options after defaults. The one-off faults and their lengths stay null when disabled. */
export interface ResolvedOptions {
  port: number;
  host: string;
  versionLabel: string;
  clientId: string;
  clientSecret: string;
  staticToken: string;
  tokenTtlS: number;
  leakHeapMbPerMin: number;
  leakHeapMaxMb: number;
  leakFdsPerMin: number;
  baseLatencyMs: number;
  driftMsPerMin: number;
  errorRate: number;
  errorRateRisePerMin: number;
  slowRate: number;
  slowMs: number;
  resetRate: number;
  stallAtS: number | null;
  stallForS: number | null;
  downAtS: number | null;
  downForS: number | null;
  restartEveryS: number | null;
  warmupGrowthMb: number;
  warmupS: number | null;
}

export type NumericOptionKey = {
  [K in keyof ResolvedOptions]: ResolvedOptions[K] extends number | null ? K : never;
}[keyof ResolvedOptions];

export type StringOptionKey = {
  [K in keyof ResolvedOptions]: ResolvedOptions[K] extends string ? K : never;
}[keyof ResolvedOptions];

export interface NumericOptionSpec {
  key: NumericOptionKey;
  flag: string;
  min: number;
  max: number;
  integer: boolean;
  /** Null for a switch that is off unless given. */
  default: number | null;
  /** Help text: what the option sets and in what unit. */
  help: string;
}

export interface StringOptionSpec {
  key: StringOptionKey;
  flag: string;
  default: string;
  allowEmpty: boolean;
  pattern: RegExp;
  /** Description of the values `pattern` accepts, for the error message. */
  patternText: string;
  help: string;
}

const WEEK_S = 7 * 24 * 3600;

export const NUMERIC_OPTIONS: readonly NumericOptionSpec[] = [
  { key: 'port', flag: '--port', min: 0, max: 65535, integer: true, default: 3000, help: 'TCP port to listen on, where 0 picks a free port' },
  { key: 'tokenTtlS', flag: '--token-ttl-s', min: 1, max: 86400, integer: true, default: 3600, help: 'lifetime of issued bearer tokens, in seconds' },
  { key: 'leakHeapMbPerMin', flag: '--leak-heap-mb-per-min', min: 0, max: 1024, integer: false, default: 0, help: 'live JS heap retained per minute of uptime, in MB' },
  { key: 'leakHeapMaxMb', flag: '--leak-heap-max-mb', min: 1, max: 4096, integer: false, default: 1024, help: 'stop the heap leak once it retains this many MB' },
  { key: 'leakFdsPerMin', flag: '--leak-fds-per-min', min: 0, max: 6000, integer: false, default: 0, help: 'file descriptors on /dev/null opened and kept per minute of uptime' },
  { key: 'baseLatencyMs', flag: '--base-latency-ms', min: 0, max: 60000, integer: false, default: 0, help: 'delay of every API response, in ms (the drift and slow delays add to it)' },
  { key: 'driftMsPerMin', flag: '--drift-ms-per-min', min: 0, max: 60000, integer: false, default: 0, help: 'response delay added per minute of uptime, in ms' },
  { key: 'errorRate', flag: '--error-rate', min: 0, max: 1, integer: false, default: 0, help: 'fraction of valid API requests that get a 500 response' },
  { key: 'errorRateRisePerMin', flag: '--error-rate-rise-per-min', min: 0, max: 60, integer: false, default: 0, help: 'added to the error rate per minute of uptime (capped at 1)' },
  { key: 'slowRate', flag: '--slow-rate', min: 0, max: 1, integer: false, default: 0, help: 'fraction of API requests delayed by --slow-ms' },
  { key: 'slowMs', flag: '--slow-ms', min: 0, max: 120000, integer: true, default: 1000, help: 'delay of a slow request, in ms' },
  { key: 'resetRate', flag: '--reset-rate', min: 0, max: 1, integer: false, default: 0, help: 'fraction of API requests whose socket is destroyed without a response' },
  { key: 'stallAtS', flag: '--stall-at-s', min: 0, max: WEEK_S, integer: false, default: null, help: 'seconds after start when a one-off stall begins (needs --stall-for-s)' },
  { key: 'stallForS', flag: '--stall-for-s', min: 0.1, max: 3600, integer: false, default: null, help: 'length of the stall, in seconds (requests arriving during it wait until it ends)' },
  { key: 'downAtS', flag: '--down-at-s', min: 0, max: WEEK_S, integer: false, default: null, help: 'seconds after start when the listener closes (needs --down-for-s)' },
  { key: 'downForS', flag: '--down-for-s', min: 0.1, max: 3600, integer: false, default: null, help: 'seconds the listener stays closed before it reopens on the same port' },
  { key: 'restartEveryS', flag: '--restart-every-s', min: 1, max: WEEK_S, integer: false, default: null, help: 'period of simulated restarts, in seconds (each drops leaks, stored sigils and issued tokens)' },
  { key: 'warmupGrowthMb', flag: '--warmup-growth-mb', min: 0, max: 4096, integer: false, default: 0, help: 'heap growth in MB spread over the first --warmup-s seconds, then flat' },
  { key: 'warmupS', flag: '--warmup-s', min: 0.1, max: 86400, integer: false, default: null, help: 'length of the warm-up growth, in seconds' },
];

// Printable ASCII without spaces, so the values fit in an HTTP header or a label.
const TOKEN_PATTERN = /^[\x21-\x7e]{1,256}$/;

export const STRING_OPTIONS: readonly StringOptionSpec[] = [
  { key: 'host', flag: '--host', default: '127.0.0.1', allowEmpty: false, pattern: /^[A-Za-z0-9.:-]{1,253}$/, patternText: 'an IP address or host name', help: 'address to bind' },
  { key: 'versionLabel', flag: '--version-label', default: '1.0.0', allowEmpty: false, pattern: /^[A-Za-z0-9._+-]{1,64}$/, patternText: '1-64 letters, digits, dots, dashes, pluses or underscores', help: 'version label reported by sigil_app_info' },
  { key: 'clientId', flag: '--client-id', default: 'demo-client', allowEmpty: false, pattern: TOKEN_PATTERN, patternText: '1-256 printable characters without spaces', help: 'client id accepted by POST /sigil/api/auth/token' },
  { key: 'clientSecret', flag: '--client-secret', default: 'demo-secret', allowEmpty: false, pattern: TOKEN_PATTERN, patternText: '1-256 printable characters without spaces', help: 'client secret accepted by POST /sigil/api/auth/token' },
  { key: 'staticToken', flag: '--static-token', default: 'demo-token', allowEmpty: true, pattern: TOKEN_PATTERN, patternText: '1-256 printable characters without spaces, or an empty string to disable it', help: 'bearer token that never expires, or an empty value to disable it' },
];

/** A rejected option value; `message` names the option, the value and the accepted range. */
export class ExampleApiOptionError extends Error {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
    this.name = 'ExampleApiOptionError';
  }
}

/** How options are named in error messages: command-line flags or property names. */
export type OptionNaming = 'flag' | 'property';

function nameOf(spec: { key: string; flag: string }, naming: OptionNaming): string {
  return naming === 'flag' ? spec.flag : spec.key;
}

function describeRange(spec: NumericOptionSpec): string {
  const kind = spec.integer ? 'an integer' : 'a number';
  return `${kind} from ${spec.min} to ${spec.max}`;
}

/** Parses a command-line value strictly: plain decimal notation only, so `0x10` or `1e3` is rejected. */
export function parseNumericArgument(spec: NumericOptionSpec, text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) {
    throw new ExampleApiOptionError(
      `Invalid ${spec.flag} "${text}": use ${describeRange(spec)} in plain decimal notation.`,
      spec.flag,
    );
  }
  return Number(text);
}

function checkNumber(spec: NumericOptionSpec, value: unknown, naming: OptionNaming): number {
  const name = nameOf(spec, naming);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= spec.min &&
    value <= spec.max &&
    (!spec.integer || Number.isInteger(value));
  if (!ok) {
    throw new ExampleApiOptionError(`Invalid ${name} ${JSON.stringify(value)}: use ${describeRange(spec)}.`, name);
  }
  return value;
}

function checkString(spec: StringOptionSpec, value: unknown, naming: OptionNaming): string {
  const name = nameOf(spec, naming);
  if (typeof value === 'string' && ((spec.allowEmpty && value === '') || spec.pattern.test(value))) {
    return value;
  }
  throw new ExampleApiOptionError(`Invalid ${name} ${JSON.stringify(value)}: use ${spec.patternText}.`, name);
}

function specOf(key: NumericOptionKey): NumericOptionSpec {
  const spec = NUMERIC_OPTIONS.find((candidate) => candidate.key === key);
  if (!spec) throw new Error(`no option spec for ${key}`);
  return spec;
}

/** Rejects a one-off fault given half: its start without its length, or the reverse. */
function checkPair(
  resolved: ResolvedOptions,
  first: NumericOptionKey,
  second: NumericOptionKey,
  naming: OptionNaming,
): void {
  const firstSet = resolved[first] !== null;
  const secondSet = resolved[second] !== null;
  if (firstSet === secondSet) return;

  const present = specOf(firstSet ? first : second);
  const absent = specOf(firstSet ? second : first);
  throw new ExampleApiOptionError(
    `Missing ${nameOf(absent, naming)}: ${nameOf(present, naming)} needs it, so set both or neither.`,
    nameOf(absent, naming),
  );
}

/**
 * Applies defaults and validates every option.
 * Throws ExampleApiOptionError naming the option (as a flag or a property, per `naming`).
 */
export function resolveOptions(input: ExampleApiOptions, naming: OptionNaming = 'property'): ResolvedOptions {
  const known = new Set<string>([...NUMERIC_OPTIONS.map((spec) => spec.key), ...STRING_OPTIONS.map((spec) => spec.key)]);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new ExampleApiOptionError(`Unknown option ${key}: see docs/example-api.md for the list.`, key);
    }
  }

  const resolved = {} as Record<string, number | string | null>;
  for (const spec of NUMERIC_OPTIONS) {
    const value = input[spec.key];
    resolved[spec.key] = value === undefined ? spec.default : checkNumber(spec, value, naming);
  }
  for (const spec of STRING_OPTIONS) {
    const value = input[spec.key];
    resolved[spec.key] = value === undefined ? spec.default : checkString(spec, value, naming);
  }
  const options = resolved as unknown as ResolvedOptions;

  checkPair(options, 'stallAtS', 'stallForS', naming);
  checkPair(options, 'downAtS', 'downForS', naming);
  if (options.warmupGrowthMb > 0 && options.warmupS === null) {
    const growth = specOf('warmupGrowthMb');
    const length = specOf('warmupS');
    throw new ExampleApiOptionError(
      `Missing ${nameOf(length, naming)}: ${nameOf(growth, naming)} ${options.warmupGrowthMb} needs the length of the warm-up.`,
      nameOf(length, naming),
    );
  }
  return options;
}
