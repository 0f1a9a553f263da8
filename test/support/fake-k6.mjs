#!/usr/bin/env node
/**
 * Test double of the k6 v1.3.0 binary, for CI machines without k6. It replays real
 * k6 v1.3.0 recordings from test/fixtures/k6 (see the README there): the `--out json`
 * sample stream at its recorded pace with timestamps moved to the current time, the
 * console output, the exit code and the reaction to SIGTERM/SIGINT.
 *
 * Commands: `version`, `inspect`, `run`. Settings (environment variables):
 *   FAKE_K6_CASE           recording to replay (default soak-mode; see fixtures/k6/exit-codes.tsv)
 *   FAKE_K6_SPEED          replay speed factor, > 0 (default 1; 20 = twenty times faster)
 *   FAKE_K6_LOOP_S         stream length in recorded seconds; the recording repeats until then
 *   FAKE_K6_FLUSH_MS       stream write period in recorded milliseconds (default 200, as k6 v1.3.0)
 *   FAKE_K6_CUT_LAST_LINE  "1": the sigkill case leaves half of its last stream line
 *   FAKE_K6_ARGS_FILE      append one JSON line per invocation: argv and selected environment
 * Exit code 2 comes from the double itself (a rejected invocation or an internal error);
 * every other exit code is one that k6 v1.3.0 uses.
 */
import { appendFileSync, createReadStream, existsSync, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';

const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/k6/', import.meta.url));

const EXIT_DOUBLE_REJECTED = 2;
const EXIT_THRESHOLDS_CROSSED = 99;
const EXIT_INVALID_CONFIG = 104;
const EXIT_EXTERNAL_ABORT = 105;
const EXIT_GENERIC_ERROR = 255;

const REQUIRED_ADDRESS = '127.0.0.1:0';
const DEFAULT_CASE = 'soak-mode';
const DEFAULT_FLUSH_MS = 200;
/** Pause between the last point of one replay loop and the first point of the next. */
const LOOP_GAP_NS = 10_000_000;
/** A batch larger than this is written before its flush tick, to bound memory. */
const MAX_BATCH_BYTES = 256 * 1024;
/** k6 v1.3.0 uses a 30 s gracefulStop when a scenario sets none. */
const DEFAULT_GRACEFUL_STOP_NS = 30_000_000_000n;

// ---------------------------------------------------------------------------
// Messages and exits

/** Writes to stdout or stderr and resolves once the data has been handed to the OS. */
function writeConsole(stream, text) {
  if (text === '') return Promise.resolve();
  return new Promise((done) => {
    stream.write(text, () => done());
  });
}

/** An invocation the double itself rejects, with exit code 2 and a `fake-k6:` message. */
class DoubleRejection extends Error {}

/** A failure k6 v1.3.0 would report: a logrus error line on stderr and k6's exit code. */
class K6Failure extends Error {
  constructor(exitCode, message) {
    super(message);
    this.exitCode = exitCode;
  }
}

function exit(code) {
  process.exit(code);
}

function logrusLine(level, message) {
  const seconds = Math.floor(Date.now() / 1000);
  return `time="${formatLocalTime(seconds, 0)}" level=${level} msg=${quoteLogValue(message)}`;
}

function quoteLogValue(text) {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}

/** Go's error texts for the errno codes an output path can fail with. */
const ERRNO_TEXT = {
  ENXIO: 'no such device or address',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
};

// ---------------------------------------------------------------------------
// Time formats

const secondsCache = new Map();

/** Parses k6's RFC 3339 time into whole epoch seconds and nanoseconds. */
function parseK6Time(text) {
  const secondsText = text.slice(0, 19);
  let index = 19;
  let nanos = 0;
  if (text.charCodeAt(index) === 46 /* . */) {
    index += 1;
    let scale = 100_000_000;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code < 48 || code > 57) break;
      nanos += (code - 48) * scale;
      scale /= 10;
      index += 1;
    }
  }
  const key = secondsText + text.slice(index);
  let seconds = secondsCache.get(key);
  if (seconds === undefined) {
    const parsed = Date.parse(key);
    if (Number.isNaN(parsed)) return null;
    seconds = parsed / 1000;
    if (secondsCache.size > 4096) secondsCache.clear();
    secondsCache.set(key, seconds);
  }
  return { seconds, nanos };
}

const localPrefixCache = new Map();

/**
 * Formats a time as Go's RFC3339Nano in the local zone, as k6 writes it: the
 * fraction loses its trailing zeros (no dot when it is zero) and a zero offset
 * prints as `Z`.
 */
function formatLocalTime(seconds, nanos) {
  let prefix = localPrefixCache.get(seconds);
  if (prefix === undefined) {
    const offsetMinutes = -new Date(seconds * 1000).getTimezoneOffset();
    const local = new Date((seconds + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
    let zone = 'Z';
    if (offsetMinutes !== 0) {
      const sign = offsetMinutes > 0 ? '+' : '-';
      const absolute = Math.abs(offsetMinutes);
      zone = `${sign}${String(Math.floor(absolute / 60)).padStart(2, '0')}:${String(absolute % 60).padStart(2, '0')}`;
    }
    prefix = { local, zone };
    if (localPrefixCache.size > 4096) localPrefixCache.clear();
    localPrefixCache.set(seconds, prefix);
  }
  const fraction = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${prefix.local}${fraction}${prefix.zone}`;
}

const DURATION_UNIT_NS = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/**
 * Parses a duration as k6 v1.3.0 reads scenario options: Go's format plus `d` for
 * days, and a plain number as milliseconds. Returns nanoseconds as a BigInt, or null.
 */
function parseK6Duration(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return BigInt(Math.round(Number(text) * 1e6));
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/gy;
  let total = 0n;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    const [whole = '0', fraction = ''] = match[1].split('.');
    const unit = DURATION_UNIT_NS[match[2]];
    const scale = 10n ** BigInt(fraction.length);
    total += BigInt(whole) * unit + (BigInt(fraction || '0') * unit) / scale;
    consumed += match[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}

/** Formats nanoseconds like Go's time.Duration.String (`1h30m0s`, `40s`, `250ms`). */
function formatGoDuration(nanoseconds) {
  if (nanoseconds === 0n) return '0s';
  const sign = nanoseconds < 0n ? '-' : '';
  let rest = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  const withFraction = (value, unitNs, digits) => {
    const whole = value / unitNs;
    const fraction = (value % unitNs).toString().padStart(digits, '0').replace(/0+$/, '');
    return fraction === '' ? `${whole}` : `${whole}.${fraction}`;
  };
  if (rest < 1_000n) return `${sign}${rest}ns`;
  if (rest < 1_000_000n) return `${sign}${withFraction(rest, 1_000n, 3)}µs`;
  if (rest < 1_000_000_000n) return `${sign}${withFraction(rest, 1_000_000n, 6)}ms`;
  const hours = rest / DURATION_UNIT_NS.h;
  rest %= DURATION_UNIT_NS.h;
  const minutes = rest / DURATION_UNIT_NS.m;
  rest %= DURATION_UNIT_NS.m;
  const seconds = withFraction(rest, DURATION_UNIT_NS.s, 9);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

// ---------------------------------------------------------------------------
// Command line

/** Flags of k6 v1.3.0 (`k6 <command> --help`): long name, short name, whether a value follows. */
const GLOBAL_FLAGS = [
  ['address', 'a', true],
  ['config', 'c', true],
  ['log-format', null, true],
  ['log-output', null, true],
  ['no-color', null, false],
  ['profiling-enabled', null, false],
  ['quiet', 'q', false],
  ['secret-source', null, true],
  ['verbose', 'v', false],
  ['help', 'h', false],
];
const SCRIPT_FLAGS = [
  ['include-system-env-vars', null, false],
  ['compatibility-mode', null, true],
  ['type', 't', true],
  ['env', 'e', true],
  ['no-thresholds', null, false],
  ['summary-mode', null, true],
  ['summary-export', null, true],
  ['traces-output', null, true],
];
const RUN_FLAGS = [
  ...SCRIPT_FLAGS,
  ['vus', 'u', true],
  ['duration', 'd', true],
  ['iterations', 'i', true],
  ['stage', 's', true],
  ['execution-segment', null, true],
  ['execution-segment-sequence', null, true],
  ['paused', 'p', false],
  ['no-setup', null, false],
  ['no-teardown', null, false],
  ['max-redirects', null, true],
  ['batch', null, true],
  ['batch-per-host', null, true],
  ['rps', null, true],
  ['user-agent', null, true],
  ['http-debug', null, 'optional'],
  ['insecure-skip-tls-verify', null, false],
  ['no-connection-reuse', null, false],
  ['no-vu-connection-reuse', null, false],
  ['min-iteration-duration', null, true],
  ['throw', 'w', false],
  ['blacklist-ip', null, true],
  ['block-hostnames', null, true],
  ['summary-trend-stats', null, true],
  ['summary-time-unit', null, true],
  ['system-tags', null, true],
  ['tag', null, true],
  ['console-output', null, true],
  ['discard-response-bodies', null, false],
  ['local-ips', null, true],
  ['dns', null, true],
  ['out', 'o', true],
  ['linger', 'l', false],
  ['no-usage-report', null, false],
];
const COMMAND_FLAGS = {
  version: [...GLOBAL_FLAGS, ['json', null, false]],
  inspect: [...GLOBAL_FLAGS, ...SCRIPT_FLAGS, ['execution-requirements', null, false]],
  run: [...GLOBAL_FLAGS, ...RUN_FLAGS],
};

/**
 * Parses a k6 command line the way k6's flag library (pflag) does for the forms the
 * runner can produce: `--name value`, `--name=value`, `-n value`, `-nvalue`, and
 * booleans as `--name` or `--name=false`. Every value of a flag is kept, in order.
 */
function parseCommandLine(argv) {
  const command = argv[0];
  if (command === '--version') return { command: 'version', flags: new Map(), positionals: [] };
  const specs = COMMAND_FLAGS[command];
  if (specs === undefined) {
    throw new K6Failure(EXIT_GENERIC_ERROR, command === undefined ? 'missing command' : `unknown command "${command}" for "k6"`);
  }
  const byLong = new Map(specs.map((spec) => [spec[0], spec]));
  const byShort = new Map(specs.filter((spec) => spec[1] !== null).map((spec) => [spec[1], spec]));
  const flags = new Map();
  const positionals = [];
  const add = (name, value) => flags.set(name, [...(flags.get(name) ?? []), value]);

  for (let index = 1; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    let spec;
    let inlineValue = null;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
      if (equals >= 0) inlineValue = arg.slice(equals + 1);
      spec = byLong.get(name);
      if (spec === undefined) throw new K6Failure(EXIT_GENERIC_ERROR, `unknown flag: --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      spec = byShort.get(arg[1]);
      if (spec === undefined) throw new K6Failure(EXIT_GENERIC_ERROR, `unknown shorthand flag: '${arg[1]}' in ${arg}`);
      if (arg.length > 2) inlineValue = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    } else {
      positionals.push(arg);
      continue;
    }

    const [name, , takesValue] = spec;
    if (takesValue === true) {
      if (inlineValue === null) {
        if (index + 1 >= argv.length) throw new K6Failure(EXIT_GENERIC_ERROR, `flag needs an argument: --${name}`);
        inlineValue = argv[++index];
      }
      add(name, inlineValue);
    } else if (takesValue === 'optional') {
      add(name, inlineValue ?? '');
    } else {
      const value = inlineValue === null ? true : parseGoBool(inlineValue);
      if (value === null) throw new K6Failure(EXIT_GENERIC_ERROR, `invalid argument "${inlineValue}" for "--${name}" flag`);
      add(name, value);
    }
  }
  return { command, flags, positionals };
}

/** Go's strconv.ParseBool. */
function parseGoBool(text) {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return null;
}

function lastFlag(parsed, name, fallback) {
  const values = parsed.flags.get(name);
  return values === undefined ? fallback : values[values.length - 1];
}

/** Builds the script's `__ENV`: system variables when included, then `-e` values on top. */
function scriptEnvironment(parsed, includeSystemByDefault) {
  const environment = {};
  if (lastFlag(parsed, 'include-system-env-vars', includeSystemByDefault)) Object.assign(environment, process.env);
  for (const pair of parsed.flags.get('env') ?? []) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new K6Failure(EXIT_GENERIC_ERROR, `invalid argument "${pair}" for "-e, --env" flag: expected VAR=value`);
    environment[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return environment;
}

// ---------------------------------------------------------------------------
// Invocation record and guards

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|KEY/i;

/** Appends the invocation to FAKE_K6_ARGS_FILE; secret values become booleans or `<redacted>`. */
function recordInvocation(argv) {
  const file = process.env.FAKE_K6_ARGS_FILE;
  if (!file) return;
  const redactPair = (pair) => {
    const equals = pair.indexOf('=');
    return equals > 0 && SECRET_NAME.test(pair.slice(0, equals)) ? `${pair.slice(0, equals)}=<redacted>` : pair;
  };
  const recordedArgv = argv.map((arg, index) => {
    if (arg.startsWith('--env=')) return `--env=${redactPair(arg.slice(6))}`;
    if (arg.startsWith('-e') && arg.length > 2) return `-e${redactPair(arg.slice(2))}`;
    if (index > 0 && (argv[index - 1] === '-e' || argv[index - 1] === '--env')) return redactPair(arg);
    return arg;
  });

  const env = { TOKEN: process.env.TOKEN !== undefined };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('K6_')) env[name] = SECRET_NAME.test(name) ? true : value;
  }
  for (const name of ['BASE_URL', 'RATE', 'DURATION']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  appendFileSync(file, `${JSON.stringify({ argv: recordedArgv, env })}\n`);
}

/** Returns why the environment is unsafe for a k6 process, or null when it is safe. */
function checkSafetyEnvironment() {
  const expected = [
    ['K6_NO_USAGE_REPORT', true, 'k6 would send a usage report'],
    ['K6_AUTO_EXTENSION_RESOLUTION', false, 'k6 could download extensions'],
  ];
  for (const [name, wanted, risk] of expected) {
    const value = process.env[name];
    if (value === undefined) {
      return `${name} is missing from the environment: the runner forgot to set ${name}=${wanted}, so ${risk}`;
    }
    if (parseGoBool(value) !== wanted) {
      return `${name} is "${value}", expected ${wanted}: otherwise ${risk}`;
    }
  }
  return null;
}

function checkAddress(parsed, required) {
  const address = lastFlag(parsed, 'address', null);
  if (address === null) {
    return required ? `-a/--address is missing: the runner must pass --address ${REQUIRED_ADDRESS}` : null;
  }
  if (address !== REQUIRED_ADDRESS) {
    return `--address is "${address}", expected ${REQUIRED_ADDRESS} (a free loopback port)`;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Fixtures

function readFixture(name) {
  return readFileSync(`${FIXTURES_DIR}${name}`, 'utf8');
}

/** Cases and exit codes from exit-codes.tsv, in file order. */
function loadCaseCodes() {
  const codes = new Map();
  for (const row of readFixture('exit-codes.tsv').trim().split('\n')) {
    const [name, code] = row.split('\t');
    codes.set(name, Number(code));
  }
  return codes;
}

function loadCase(name, codes) {
  const streamPath = `${FIXTURES_DIR}${name}.ndjson.gz`;
  const summaryPath = `${FIXTURES_DIR}${name}.summary.json`;
  return {
    name,
    exitCode: codes.get(name),
    log: parseConsoleLog(readFixture(`${name}.log`)),
    streamPath: existsSync(streamPath) ? streamPath : null,
    summaryPath: existsSync(summaryPath) ? summaryPath : null,
  };
}

const PROGRESS_PREFIX = 'running (';
const STDERR_PREFIX = 'time="';
const SUMMARY_HEADING = /^\s*█ (THRESHOLDS|TOTAL RESULTS)/;

/**
 * Splits a recorded `.log` (stdout and stderr together) into the parts the replay
 * prints at different moments:
 *   banner  stdout before the first progress block (skipped with --quiet)
 *   middle  progress blocks and stderr lines before the summary, each with the stream
 *           offset (ns) of the progress line before it
 *   tail    the end-of-test summary, the final progress block and the last stderr lines
 * Each line is { text, stream: 'stdout'|'stderr', kind: 'banner'|'progress'|'summary'|'log' }.
 */
function parseConsoleLog(text) {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const isStderr = (index) => lines[index].startsWith(STDERR_PREFIX);

  const kinds = lines.map((line, index) => (isStderr(index) ? 'log' : null));
  lines.forEach((line, index) => {
    if (!line.startsWith(PROGRESS_PREFIX)) return;
    kinds[index] = 'progress';
    // A block is a blank line, `running (...)` and the scenario's progress bar.
    if (index + 1 < lines.length && !isStderr(index + 1)) kinds[index + 1] = 'progress';
    if (index > 0 && lines[index - 1] === '') kinds[index - 1] = 'progress';
  });

  let summaryStart = lines.findIndex((line) => SUMMARY_HEADING.test(line));
  if (summaryStart >= 0) {
    while (summaryStart > 0 && lines[summaryStart - 1] === '' && kinds[summaryStart - 1] === null) summaryStart -= 1;
    for (let index = summaryStart; index < lines.length && kinds[index] === null; index++) kinds[index] = 'summary';
  }
  const firstProgress = kinds.indexOf('progress');
  for (let index = 0; index < lines.length; index++) {
    if (kinds[index] !== null) continue;
    if (firstProgress < 0 || index < firstProgress) kinds[index] = 'banner';
    else throw new Error(`fake-k6: cannot place line ${index + 1} of a fixture log: ${lines[index]}`);
  }

  const banner = [];
  const middle = [];
  const tail = [];
  const tailStart = summaryStart >= 0 ? summaryStart : lines.length;
  let dueNs = 0;
  lines.forEach((line, index) => {
    const entry = { text: line, stream: isStderr(index) ? 'stderr' : 'stdout', kind: kinds[index] };
    if (line.startsWith(PROGRESS_PREFIX)) dueNs = progressOffsetNs(line) ?? dueNs;
    if (entry.kind === 'banner') banner.push(entry);
    else if (index >= tailStart || (firstProgress < 0 && entry.kind === 'log')) tail.push(entry);
    else {
      // The blank line of a progress block belongs to the `running (...)` line after it.
      const nextLine = lines[index + 1] ?? '';
      const ownDue = line === '' && nextLine.startsWith(PROGRESS_PREFIX) ? progressOffsetNs(nextLine) ?? dueNs : dueNs;
      middle.push({ ...entry, dueNs: ownDue });
    }
  });
  return { banner, middle, tail };
}

/** Reads the elapsed time of `running (01.0s), ...` in nanoseconds. */
function progressOffsetNs(line) {
  const end = line.indexOf(')');
  const duration = parseK6Duration(line.slice(PROGRESS_PREFIX.length, end));
  return duration === null ? null : Number(duration);
}

/** Rewrites the recorded script path and output names in a console line. */
function adaptConsoleLine(text, context) {
  if (text.startsWith('        script: ')) return `        script: ${context.scriptArg}`;
  if (text.startsWith('        output: ')) return `        output: ${context.outputDescription}`;
  return text.replace(/file:\/\/\/recordings\/[\w.-]+\.js/g, context.scriptUrl);
}

// ---------------------------------------------------------------------------
// version

async function commandVersion(parsed) {
  const versionLine = JSON.parse(readFixture('manifest.json')).k6Version;
  if (!lastFlag(parsed, 'json', false)) {
    await writeConsole(process.stdout, `${versionLine}\n`);
    return exit(0);
  }
  const match = /^k6 (v\S+) \(commit\/(\S+), (\S+), (\w+)\/(\w+)\)$/.exec(versionLine);
  if (match === null) throw new Error(`fake-k6: unexpected version line in manifest.json: ${versionLine}`);
  const [, version, commit, goVersion, goOs, goArch] = match;
  const json = JSON.stringify({ commit, go_arch: goArch, go_os: goOs, go_version: goVersion, version });
  await writeConsole(process.stdout, `${json}\n`);
  return exit(0);
}

// ---------------------------------------------------------------------------
// Script checks shared by inspect and run

/**
 * Resolves the case and checks the script path and the scenario settings that the
 * fixture script reads from `__ENV` (RATE, DURATION) as k6 v1.3.0 would.
 * Returns { caseName, codes, scriptArg, scenario: { rate, durationNs } }, or throws
 * K6Failure with k6's exit code, or DoubleRejection for an unknown case.
 */
function prepareScript(parsed, { includeSystemByDefault, validateExecution }) {
  if (parsed.positionals.length !== 1) {
    throw new K6Failure(EXIT_GENERIC_ERROR, `accepts 1 arg(s), received ${parsed.positionals.length}`);
  }
  const codes = loadCaseCodes();
  const caseName = process.env.FAKE_K6_CASE || null;
  if (caseName !== null && !codes.has(caseName)) {
    throw new DoubleRejection(`unknown FAKE_K6_CASE "${caseName}"; valid cases: ${[...codes.keys()].join(', ')}`);
  }
  const scriptArg = parsed.positionals[0];
  if (!existsSync(scriptArg)) {
    throw new K6Failure(EXIT_GENERIC_ERROR, `script "${scriptArg}" was not found on local disk (fake-k6): check the path`);
  }

  const environment = scriptEnvironment(parsed, includeSystemByDefault);
  const rateText = environment.RATE || '100';
  const rate = Number(rateText);
  if (Number.isNaN(rate)) {
    throw new K6Failure(EXIT_GENERIC_ERROR, `could not initialize '${scriptArg}': scenario rate RATE="${rateText}" is not a number`);
  }
  if (!Number.isInteger(rate)) {
    throw new K6Failure(EXIT_INVALID_CONFIG, `could not initialize '${scriptArg}': scenario rate ${rate} is not an integer`);
  }
  const durationText = environment.DURATION || '10s';
  const durationNs = parseK6Duration(durationText);
  if (durationNs === null) {
    throw new K6Failure(EXIT_INVALID_CONFIG, `could not initialize '${scriptArg}': invalid duration "${durationText}"`);
  }
  // k6 validates the scenario itself only when it plans an execution.
  if (validateExecution && durationNs < DURATION_UNIT_NS.s) {
    throw new K6Failure(EXIT_INVALID_CONFIG, `scenario sigil: the duration must be at least 1s, but is ${formatGoDuration(durationNs)}`);
  }
  return { caseName, codes, scriptArg, scenario: { rate, durationNs } };
}

function scriptContext(scriptArg) {
  return { scriptArg, scriptUrl: pathToFileURL(resolve(scriptArg)).href, outputDescription: '-' };
}

/** Returns the stderr lines of a case's recorded init failure, with the script path adapted. */
function initFailureLines(caseData, context) {
  return caseData.log.tail
    .filter((entry) => entry.stream === 'stderr')
    .map((entry) => retimeLogLine(adaptConsoleLine(entry.text, context), null));
}

// ---------------------------------------------------------------------------
// inspect

/** Serializes like Go's json.MarshalIndent with HTML escaping, as `k6 inspect` prints. */
function marshalLikeGo(value) {
  return JSON.stringify(value, null, 2).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

async function commandInspect(parsed) {
  const addressProblem = checkAddress(parsed, false);
  if (addressProblem !== null) throw new DoubleRejection(addressProblem);
  const withRequirements = lastFlag(parsed, 'execution-requirements', false);
  const prepared = prepareScript(parsed, { includeSystemByDefault: false, validateExecution: withRequirements });

  if (prepared.caseName === 'script-exception-init') {
    const caseData = loadCase(prepared.caseName, prepared.codes);
    const lines = initFailureLines(caseData, scriptContext(prepared.scriptArg));
    await writeConsole(process.stderr, lines.map((line) => `${line}\n`).join(''));
    return exit(caseData.exitCode);
  }

  const options = JSON.parse(readFixture(withRequirements ? 'inspect-execution-requirements.json' : 'inspect.json'));
  // NOTE: the output is the fixture scenario's options whatever script is given; only
  // RATE and DURATION from __ENV are applied, as that scenario reads them.
  const scenario = options.scenarios.sigil;
  scenario.rate = prepared.scenario.rate;
  scenario.duration = formatGoDuration(prepared.scenario.durationNs);
  if (withRequirements) options.totalDuration = formatGoDuration(prepared.scenario.durationNs + DEFAULT_GRACEFUL_STOP_NS);
  await writeConsole(process.stdout, marshalLikeGo(options));
  return exit(0);
}

// ---------------------------------------------------------------------------
// run: options

/** Parses one bound of an execution segment: `1/3`, `50%`, `0.5` or `1`. */
function parseSegmentValue(text) {
  let value;
  if (text.endsWith('%')) value = Number(text.slice(0, -1)) / 100;
  else if (text.includes('/')) {
    const [numerator, denominator] = text.split('/').map(Number);
    value = numerator / denominator;
  } else value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** Returns { start, end } of `--execution-segment` (default 0:1), or a string saying why it is invalid. */
function parseExecutionSegment(text) {
  if (text === null) return { start: 0, end: 1, text: '0:1' };
  const parts = text.split(':');
  if (parts.length > 2) return `invalid execution segment "${text}"`;
  const start = parts.length === 2 ? parseSegmentValue(parts[0]) : 0;
  const end = parseSegmentValue(parts[parts.length - 1]);
  if (start === null || end === null) return `invalid execution segment "${text}"`;
  if (end > 1) return `segment end value can't be more than 1 but was ${end.toFixed(2)}`;
  if (start < 0 || start >= end) return `invalid execution segment "${text}": start must be below end`;
  return { start, end, text };
}

/**
 * Picks the recording to replay. Without FAKE_K6_CASE the halves 0:1/2 and 1/2:1 pick
 * the recorded segment runs, and everything else replays `soak-mode`. Any other
 * partial segment thins the chosen case to the segment's share of iterations.
 */
function selectReplay(caseName, segment) {
  const isHalf = (start, end) => Math.abs(segment.start - start) < 1e-9 && Math.abs(segment.end - end) < 1e-9;
  if (caseName === null && isHalf(0, 0.5)) return { name: 'segments-0', thinning: null };
  if (caseName === null && isHalf(0.5, 1)) return { name: 'segments-1', thinning: null };
  const name = caseName ?? DEFAULT_CASE;
  const fullRun = isHalf(0, 1);
  const alreadySplit = name === 'segments-0' || name === 'segments-1';
  if (fullRun || alreadySplit) return { name, thinning: null };
  return { name, thinning: { start: segment.start, fraction: segment.end - segment.start } };
}

function readPositiveNumberSetting(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new DoubleRejection(`${name} must be a positive number, got "${text}"`);
  }
  return value;
}

/** Collects the run options that change what the replay prints or writes. */
function readRunOptions(parsed) {
  const outputs = [];
  for (const uri of parsed.flags.get('out') ?? []) {
    if (uri === 'json') outputs.push({ path: null, description: 'json(stdout)' });
    else if (uri.startsWith('json=')) outputs.push({ path: uri.slice(5), description: `json (${uri.slice(5)})` });
    else throw new DoubleRejection(`output "${uri}" is not replayed; the double writes only --out json=PATH or --out json`);
  }
  const summaryMode = lastFlag(parsed, 'summary-mode', 'compact');
  if (!['compact', 'full', 'disabled'].includes(summaryMode)) {
    throw new K6Failure(EXIT_GENERIC_ERROR, `invalid summary mode "${summaryMode}": use compact, full or disabled`);
  }
  const logFormat = lastFlag(parsed, 'log-format', '');
  if (logFormat !== '' && logFormat !== 'text') throw new DoubleRejection(`--log-format ${logFormat} is not replayed; the recordings are text logs`);
  const logOutput = lastFlag(parsed, 'log-output', 'stderr');
  if (logOutput !== 'stderr') throw new DoubleRejection(`--log-output ${logOutput} is not replayed; logs go to stderr`);

  return {
    outputs,
    quiet: lastFlag(parsed, 'quiet', false),
    noThresholds: lastFlag(parsed, 'no-thresholds', false),
    // NOTE: "full" prints the recorded compact summary.
    summaryDisabled: summaryMode === 'disabled',
    summaryExport: lastFlag(parsed, 'summary-export', null),
    segmentText: lastFlag(parsed, 'execution-segment', null),
    speed: readPositiveNumberSetting('FAKE_K6_SPEED', 1),
    loopNs: process.env.FAKE_K6_LOOP_S ? readPositiveNumberSetting('FAKE_K6_LOOP_S', null) * 1e9 : null,
    flushNs: readPositiveNumberSetting('FAKE_K6_FLUSH_MS', DEFAULT_FLUSH_MS) * 1e6,
    cutLastLine: process.env.FAKE_K6_CUT_LAST_LINE === '1',
  };
}

// ---------------------------------------------------------------------------
// run: console output

/** Starts the replay clock, which maps recorded nanoseconds to wall time divided by the speed factor. */
function createClock(speed) {
  const startMs = performance.now();
  const wallMs = performance.timeOrigin + startMs;
  const baseSeconds = Math.floor(wallMs / 1000);
  return {
    speed,
    baseSeconds,
    baseNanos: Math.round((wallMs - baseSeconds * 1000) * 1e6),
    /** Recorded offset (ns) whose wall time has been reached. */
    elapsedNs: () => (performance.now() - startMs) * 1e6 * speed,
    /** Real milliseconds from now until recorded offset `offsetNs`. */
    msUntil: (offsetNs) => offsetNs / speed / 1e6 - (performance.now() - startMs),
  };
}

/** Wall time of a recorded offset as { seconds, nanos }. */
function wallTimeAt(clock, offsetNs) {
  const total = clock.baseNanos + Math.round(offsetNs / clock.speed);
  const carry = Math.floor(total / 1e9);
  return { seconds: clock.baseSeconds + carry, nanos: total - carry * 1e9 };
}

/**
 * Moves the `time="..."` of a logrus line: to the wall time of `offsetNs` when a
 * clock is given (log times have whole seconds), to the current time otherwise.
 */
function retimeLogLine(text, clock, offsetNs = 0) {
  if (!text.startsWith(STDERR_PREFIX)) return text;
  const end = text.indexOf('"', STDERR_PREFIX.length);
  const seconds = clock === null ? Math.floor(Date.now() / 1000) : wallTimeAt(clock, offsetNs).seconds;
  return `${STDERR_PREFIX}${formatLocalTime(seconds, 0)}${text.slice(end)}`;
}

/** Prints console entries, each on its own stream, skipping what the flags hide. */
async function printEntries(entries, context) {
  for (const entry of entries) {
    if (!isShown(entry, context.options)) continue;
    const text = adaptConsoleLine(retimeLogLine(entry.text, context.clock, entry.offsetNs ?? context.endOffsetNs), context);
    await writeConsole(entry.stream === 'stderr' ? process.stderr : process.stdout, `${text}\n`);
  }
}

const THRESHOLD_LOG = /level=error msg="thresholds on metrics /;

function isShown(entry, options) {
  if (options.quiet && (entry.kind === 'banner' || entry.kind === 'progress')) return false;
  if (entry.kind === 'summary' && options.summaryDisabled) return false;
  if (entry.kind === 'summary' && options.noThresholds && entry.inThresholdSection) return false;
  if (entry.stream === 'stderr' && options.noThresholds && THRESHOLD_LOG.test(entry.text)) return false;
  return true;
}

/** Marks the summary lines that `--no-thresholds` removes: the THRESHOLDS section. */
function markThresholdSection(tail) {
  const start = tail.findIndex((entry) => /^\s*█ THRESHOLDS/.test(entry.text));
  const end = tail.findIndex((entry) => /^\s*█ TOTAL RESULTS/.test(entry.text));
  if (start < 0 || end < start) return tail;
  return tail.map((entry, index) => (index >= start && index < end ? { ...entry, inThresholdSection: true } : entry));
}

/** Middle console lines of one replay loop, released as the stream reaches their offsets. */
function createConsoleSchedule(middle, context) {
  let index = 0;
  let loopOffsetNs = 0;
  return {
    async releaseUntil(offsetNs) {
      while (index < middle.length && middle[index].dueNs + loopOffsetNs <= offsetNs) {
        const entry = middle[index++];
        await printEntries([{ ...entry, offsetNs: entry.dueNs + loopOffsetNs }], context);
      }
    },
    startLoop(offsetNs) {
      index = 0;
      loopOffsetNs = offsetNs;
    },
  };
}

// ---------------------------------------------------------------------------
// run: stream outputs

/**
 * Writes a buffer to a file descriptor completely. EAGAIN (a non-blocking pipe that
 * is full) waits and retries; other errors reject.
 */
async function writeFully(handle, buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      await new Promise((done) => setTimeout(done, 5));
    }
  }
}

/**
 * Opens a `--out json` destination. Like k6, a reader that goes away (EPIPE) ends
 * the writing quietly while the test keeps running. Paths ending in `.gz` are
 * gzipped, as k6 does.
 */
async function openOutput(output) {
  if (output.path === null) return createConsoleOutput();
  const handle = await open(output.path, 'w');
  let closed = false;
  const writeRaw = async (buffer) => {
    if (closed) return;
    try {
      await writeFully(handle, buffer);
    } catch (error) {
      if (error.code !== 'EPIPE') throw error;
      closed = true;
    }
  };
  if (!output.path.endsWith('.gz')) {
    return {
      write: writeRaw,
      close: () => handle.close(),
    };
  }
  const gzip = createGzip();
  let pending = Promise.resolve();
  gzip.on('data', (chunk) => {
    pending = pending.then(() => writeRaw(chunk));
  });
  const drainGzip = () => new Promise((done) => gzip.flush(zlibConstants.Z_SYNC_FLUSH, done)).then(() => pending);
  return {
    write: async (buffer) => {
      gzip.write(buffer);
      await drainGzip();
    },
    close: async () => {
      const ended = new Promise((done) => gzip.once('end', done));
      gzip.end();
      await ended;
      await pending;
      await handle.close();
    },
  };
}

function createConsoleOutput() {
  return {
    write: (buffer) => writeConsole(process.stdout, buffer),
    close: async () => {},
  };
}

// ---------------------------------------------------------------------------
// run: stream replay

/** Yields the lines of a gzipped file without holding more than one chunk in memory. */
async function* readGzipLines(path) {
  const gunzip = createGunzip();
  pipeline(createReadStream(path), gunzip, () => {});
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of gunzip) {
    const text = rest + decoder.write(chunk);
    const lines = text.split('\n');
    rest = lines.pop();
    yield* lines;
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

const POINT_PREFIX = '{"metric":"';
const METRIC_PREFIX = '{"type":"Metric"';
const TIME_KEY = '"time":"';

function metricNameOf(line) {
  if (line.startsWith(POINT_PREFIX)) return line.slice(POINT_PREFIX.length, line.indexOf('"', POINT_PREFIX.length));
  const marker = line.lastIndexOf('"metric":"');
  return line.slice(marker + 10, line.indexOf('"', marker + 10));
}

/**
 * Keeps the share of iterations that a segment of `fraction` would run. An
 * iteration is every point since the previous `iterations` point. Setup samples and
 * the `vus`/`vus_max` gauges are always kept, because each k6 process has its own.
 * Iteration i is kept when floor(i*f + s) steps up at i+1 (f = fraction, s = start).
 * This spreads the kept iterations evenly, and segments that tile 0:1 pick disjoint ones.
 */
function createThinning(thinning) {
  let iteration = 0;
  let group = [];
  const keepIteration = () => {
    const before = Math.floor(iteration * thinning.fraction + thinning.start + 1e-9);
    const after = Math.floor((iteration + 1) * thinning.fraction + thinning.start + 1e-9);
    iteration += 1;
    return after > before;
  };
  return {
    /** Returns the points to emit now (possibly none) for one incoming point. */
    accept(point) {
      if (point.metric === 'vus' || point.metric === 'vus_max' || point.line.includes('"group":"::setup"')) return [point];
      group.push(point);
      if (point.metric !== 'iterations') return [];
      const done = group;
      group = [];
      return keepIteration() ? done : [];
    },
    finish() {
      const done = group;
      group = [];
      return done.length > 0 && keepIteration() ? done : [];
    },
  };
}

/**
 * Replays the case's stream into the outputs. A point is written at the first flush
 * tick after the clock reaches its recorded offset, like k6's periodic writes, and its
 * `time` becomes the matching wall time. Ticks are FAKE_K6_FLUSH_MS of recorded time.
 * Metric lines are written once, right before the first point of their metric.
 * Returns { reason: 'end' | 'signal', lastOffsetNs }.
 */
async function replayStream(caseData, outputs, options, thinningSpec, context, state) {
  const clock = context.clock;
  const schedule = createConsoleSchedule(caseData.log.middle, context);
  const thinning = thinningSpec === null ? null : createThinning(thinningSpec);
  const pendingMetricLines = new Map();
  const writtenMetrics = new Set();
  const tickNs = options.flushNs;

  let batch = [];
  let batchBytes = 0;
  let lastOffsetNs = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const buffer = Buffer.from(batch.join(''));
    batch = [];
    batchBytes = 0;
    for (const output of outputs) await output.write(buffer);
  };
  const append = (text) => {
    batch.push(text);
    batchBytes += text.length;
  };

  const emit = async (point) => {
    if (point.offsetNs > clock.elapsedNs()) {
      await flush();
      await schedule.releaseUntil(clock.elapsedNs());
      const tick = Math.ceil(point.offsetNs / tickNs) * tickNs;
      await state.sleep(clock.msUntil(tick));
      await schedule.releaseUntil(Math.min(clock.elapsedNs(), point.offsetNs));
      if (state.signal !== null) return;
    }
    const metricLine = pendingMetricLines.get(point.metric);
    if (metricLine !== undefined) {
      pendingMetricLines.delete(point.metric);
      writtenMetrics.add(point.metric);
      append(`${metricLine}\n`);
    }
    const time = wallTimeAt(clock, point.offsetNs);
    append(`${point.line.slice(0, point.timeStart)}${formatLocalTime(time.seconds, time.nanos)}${point.line.slice(point.timeEnd)}\n`);
    lastOffsetNs = Math.max(lastOffsetNs, point.offsetNs);
    if (batchBytes > MAX_BATCH_BYTES) await flush();
  };

  let origin = null;
  let spanNs = 0;
  let loopOffsetNs = 0;
  let reason = 'end';
  replay: for (;;) {
    for await (const line of readGzipLines(caseData.streamPath)) {
      if (state.signal !== null) break replay;
      if (line.startsWith(METRIC_PREFIX)) {
        const name = metricNameOf(line);
        if (!writtenMetrics.has(name)) pendingMetricLines.set(name, line);
        continue;
      }
      const timeKey = line.indexOf(TIME_KEY);
      if (!line.startsWith(POINT_PREFIX) || timeKey < 0) {
        append(`${line}\n`);
        continue;
      }
      const timeStart = timeKey + TIME_KEY.length;
      const timeEnd = line.indexOf('"', timeStart);
      const recorded = parseK6Time(line.slice(timeStart, timeEnd));
      if (recorded === null) throw new Error(`fake-k6: fixture point with an invalid time: ${line}`);
      origin ??= recorded;
      const ownOffsetNs = (recorded.seconds - origin.seconds) * 1e9 + (recorded.nanos - origin.nanos);
      if (loopOffsetNs === 0) spanNs = Math.max(spanNs, ownOffsetNs);
      const offsetNs = Math.max(0, loopOffsetNs + ownOffsetNs);
      if (options.loopNs !== null && offsetNs > options.loopNs) break replay;

      const point = { line, metric: metricNameOf(line), offsetNs, timeStart, timeEnd };
      const ready = thinning === null ? [point] : thinning.accept(point);
      for (const item of ready) {
        await emit(item);
        if (state.signal !== null) break replay;
      }
    }
    if (thinning !== null) for (const item of thinning.finish()) await emit(item);
    await schedule.releaseUntil(Number.POSITIVE_INFINITY);
    if (options.loopNs === null || state.signal !== null) break;
    loopOffsetNs += spanNs + LOOP_GAP_NS;
    if (loopOffsetNs > options.loopNs) break;
    schedule.startLoop(loopOffsetNs);
  }
  if (state.signal !== null) reason = 'signal';
  else await schedule.releaseUntil(options.loopNs ?? Number.POSITIVE_INFINITY);

  if (reason === 'end' && options.cutLastLine && caseData.name === 'sigkill' && batch.length > 0) {
    const last = batch.pop();
    append(last.slice(0, Math.floor(last.length / 2)));
  }
  await flush();
  return { reason, lastOffsetNs };
}

// ---------------------------------------------------------------------------
// run

/**
 * Signal state of a run: SIGTERM and SIGINT make the replay stop at the next line,
 * as k6 stops its test at once. Before the stream starts they end the process directly.
 */
function createSignalState(onEarlySignal) {
  const state = {
    signal: null,
    streaming: false,
    wake: null,
    sleep(ms) {
      if (state.signal !== null || ms <= 0) return Promise.resolve();
      return new Promise((done) => {
        const timer = setTimeout(done, ms);
        state.wake = () => {
          clearTimeout(timer);
          done();
        };
      });
    },
  };
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (state.signal !== null) return;
      state.signal = signal;
      if (!state.streaming) onEarlySignal(signal);
      state.wake?.();
    });
  }
  return state;
}

/** k6's stderr line for a stop by signal, taken from the `sigterm` recording. */
function signalAbortLine(signal) {
  const recorded = parseConsoleLog(readFixture('sigterm.log')).tail.find((entry) => entry.text.includes("k6 received a 'terminated' signal"));
  const text = retimeLogLine(recorded.text, null);
  // k6 v1.3.0 names SIGINT 'interrupt' in the same message (checked against the real binary).
  return signal === 'SIGINT' ? text.replace("'terminated'", "'interrupt'") : text;
}

async function commandRun(parsed) {
  const addressProblem = checkAddress(parsed, true);
  if (addressProblem !== null) throw new DoubleRejection(addressProblem);
  const options = readRunOptions(parsed);
  const segment = parseExecutionSegment(options.segmentText);
  if (typeof segment === 'string') throw new K6Failure(EXIT_GENERIC_ERROR, segment);
  const prepared = prepareScript(parsed, { includeSystemByDefault: true, validateExecution: true });

  const replay = selectReplay(prepared.caseName, segment);
  const caseData = loadCase(replay.name, prepared.codes);
  const context = {
    ...scriptContext(prepared.scriptArg),
    outputDescription: options.outputs.length === 0 ? '-' : options.outputs.map((output) => output.description).join(', '),
    options,
    clock: null,
    endOffsetNs: 0,
  };

  const state = createSignalState(async (signal) => {
    await writeConsole(process.stderr, `${signalAbortLine(signal)}\n`);
    exit(EXIT_EXTERNAL_ABORT);
  });

  await printEntries(caseData.log.banner, context);
  if (caseData.streamPath === null) {
    // The init context failed: k6 stops before it opens any output.
    const lines = initFailureLines(caseData, context);
    await writeConsole(process.stderr, lines.map((line) => `${line}\n`).join(''));
    return exit(caseData.exitCode);
  }

  const outputs = [];
  for (const output of options.outputs) {
    try {
      outputs.push(await openOutput(output));
    } catch (error) {
      const reason = ERRNO_TEXT[error.code] ?? error.message;
      throw new K6Failure(EXIT_GENERIC_ERROR, `open ${output.path}: ${reason}`);
    }
  }
  if (state.signal !== null) return;

  state.streaming = true;
  context.clock = createClock(options.speed);
  caseData.log.tail = markThresholdSection(caseData.log.tail);
  const result = await replayStream(caseData, outputs, options, replay.thinning, context, state);
  context.endOffsetNs = result.lastOffsetNs;

  if (result.reason === 'end' && caseData.name === 'sigkill') {
    // The recording was cut by SIGKILL: no summary, no export, no exit code.
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  for (const output of outputs) await output.close();

  if (result.reason === 'signal') {
    // NOTE: k6 also prints its end-of-test summary here. The double skips it, because the
    // recorded numbers would not match a replay stopped early.
    await writeSummaryExport(caseData, options);
    await writeConsole(process.stderr, `${signalAbortLine(state.signal)}\n`);
    return exit(EXIT_EXTERNAL_ABORT);
  }
  await printEntries(caseData.log.tail, context);
  await writeSummaryExport(caseData, options);
  const exitCode = options.noThresholds && caseData.exitCode === EXIT_THRESHOLDS_CROSSED ? 0 : caseData.exitCode;
  return exit(exitCode);
}

/** Copies the case's recorded `--summary-export` file where k6 would have written one. */
async function writeSummaryExport(caseData, options) {
  if (options.summaryExport === null || options.summaryDisabled || caseData.summaryPath === null) return;
  // NOTE: the export contains the recording's numbers, even when the replay was looped,
  // thinned or stopped early.
  await writeFile(options.summaryExport, readFileSync(caseData.summaryPath));
}

// ---------------------------------------------------------------------------
// main

async function main() {
  const argv = process.argv.slice(2);
  recordInvocation(argv);
  const environmentProblem = checkSafetyEnvironment();
  if (environmentProblem !== null) throw new DoubleRejection(environmentProblem);

  const parsed = parseCommandLine(argv);
  if (parsed.command === 'version') return commandVersion(parsed);
  if (parsed.command === 'inspect') return commandInspect(parsed);
  return commandRun(parsed);
}

// A parent that closes stdout or stderr early must not crash the replay.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

main().catch(async (error) => {
  if (error instanceof DoubleRejection) {
    await writeConsole(process.stderr, `fake-k6: ${error.message}\n`);
    exit(EXIT_DOUBLE_REJECTED);
  }
  if (error instanceof K6Failure) {
    await writeConsole(process.stderr, `${logrusLine('error', error.message)}\n`);
    exit(error.exitCode);
  }
  await writeConsole(process.stderr, `fake-k6: internal error: ${error.stack ?? error}\n`);
  exit(EXIT_DOUBLE_REJECTED);
});
