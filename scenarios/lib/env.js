// Reading the __ENV contract of bundled scenarios (docs/scenarios.md) with checks
// that fail in the init context, before any load starts, naming the variable.

// Go duration syntax as k6 accepts it: one or more <number><unit> parts, such as 90s or 1h30m.
const DURATION_PATTERN = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Returns __ENV[name], or `fallback` when the variable is unset or empty. */
export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

/** Returns __ENV[name] as an integer from 1 to `max`, or `fallback` when unset. Throws an error naming the variable for any other value. */
export function envPositiveInt(name, fallback, max) {
  const text = envString(name, undefined);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw new Error(`Invalid ${name} "${text}": use an integer from 1 to ${max}.`);
  }
  return value;
}

/** Returns __ENV[name] as a k6 duration string, or `fallback` when unset. Throws an error naming the variable for any other value. */
export function envDuration(name, fallback) {
  const text = envString(name, fallback);
  if (!DURATION_PATTERN.test(text)) {
    throw new Error(`Invalid ${name} "${text}": use a k6 duration such as 30s, 10m or 1h30m.`);
  }
  return text;
}

/** Returns an http(s) origin from __ENV[name] without a trailing slash. Throws an error naming the variable for any other value. */
export function envOrigin(name, fallback) {
  const text = envString(name, fallback);
  if (!/^https?:\/\/[^/?#\s]+\/?$/.test(text)) {
    throw new Error(`Invalid ${name} "${text}": use an origin such as http://127.0.0.1:3000 (scheme, host and port, no path).`);
  }
  return text.replace(/\/$/, '');
}

/**
 * Builds a `constant-arrival-rate` scenario from RATE, DURATION, PRE_ALLOCATED_VUS
 * and MAX_VUS. Without the VU variables it preallocates one VU per 10 iterations/s
 * (at least 10) and allows one VU per iteration/s (at least 50), which covers
 * responses of up to about a second before k6 drops iterations.
 */
export function arrivalRateScenario(defaults) {
  const rate = envPositiveInt('RATE', defaults.rate, 100000);
  const duration = envDuration('DURATION', defaults.duration);
  const maxVUsSet = envString('MAX_VUS', undefined) !== undefined;
  const maxVUs = envPositiveInt('MAX_VUS', Math.max(50, rate), 100000);
  const preAllocatedDefault = Math.min(Math.max(10, Math.ceil(rate / 10)), maxVUs);
  const preAllocatedVUs = envPositiveInt('PRE_ALLOCATED_VUS', preAllocatedDefault, 100000);
  if (preAllocatedVUs > maxVUs) {
    const hint = maxVUsSet ? `raise MAX_VUS to at least ${preAllocatedVUs}` : `set MAX_VUS to at least ${preAllocatedVUs}`;
    throw new Error(`Invalid PRE_ALLOCATED_VUS ${preAllocatedVUs}: it exceeds MAX_VUS ${maxVUs}. Lower it or ${hint}.`);
  }

  return {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration,
    preAllocatedVUs,
    maxVUs,
    gracefulStop: defaults.gracefulStop || '30s',
  };
}
