/**
 * Detection benchmark: how often the drift, leak and regression analyses find each
 * injected fault, how often they raise a false alarm, and how soon they find it.
 *
 *   K6_BIN=/path/to/k6 npx tsx bench/detection/run.ts [--quick] [--record] [--replays N]
 *
 * Without --record it replays the recordings in bench/detection/recordings/. With
 * --record it first runs real soaks (record.ts): all cases twice, or with --quick one
 * clean run and one strong heap leak. Each real run takes 5 minutes plus about 20 s.
 * The replays run the analyses with the runner's default configuration.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analysisPointSeconds, warmupSeconds } from '../../core/analysis.js';
import { parseEnvConfig } from '../../core/config.js';
import type { HistoryEntry } from '../../core/history.js';
import { median } from '../../core/stats.js';
import { parseArgsOrExit } from '../lib/cli.js';
import { BASE_API_ARGS, DETECTION_CASES, type DetectionCase } from './cases.js';
import { DEFAULT_RECORDINGS_DIR, recordRuns, sameSetup, unknownCases } from './record.js';
import { RecordingSchema, type Recording } from './recording.js';
import {
  analyze,
  buildNoiseModel,
  entryOf,
  expectedRegression,
  meetsExpectation,
  meetsRegression,
  regressionCodes,
  timeToDetection,
  withNoise,
  type NoiseModel,
  type Variant,
} from './replay.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Real runs of the full mode: leaks and trends are injected in pairs, see recordRuns. */
export const FULL_RUNS = [
  'clean',
  'heap-leak/weak+fd-leak/weak',
  'heap-leak/strong+fd-leak/strong',
  'latency-drift/weak+error-rise/weak',
  'latency-drift/strong+error-rise/strong',
  'stall',
  'restart/clean',
  'restart/heap-leak',
  'warmup-plateau',
];
export const QUICK_RUNS = ['clean', 'heap-leak/strong+fd-leak/strong'];

const BASELINE_NIGHTS = 7;

/**
 * Returns the analyses as the runner runs them: the default configuration, and points of
 * the length finalize picks for the run (analysisPoints.targetPoints), 10 s for a 5-minute run.
 */
export function defaultVariant(durationS: number): Variant {
  const config = parseEnvConfig({}, null);
  const warmupS = warmupSeconds(durationS, config.warmup);
  const pointS = analysisPointSeconds(durationS, warmupS, config.analysisPoints.targetPoints);
  if (pointS !== 10 && pointS !== 60) {
    throw new Error(`the recordings hold 10-second and 60-second points, but a ${durationS} s run is analysed in ${pointS}-second points`);
  }
  return { name: 'defaults', resolution: pointS === 10 ? '10s' : '60s', config };
}

export interface CaseResult {
  variant: string;
  caseId: string;
  fault: string;
  strength: string;
  realRuns: number;
  /** Real runs whose recorded series, without added noise, meet the expectation. */
  realMet: number;
  /** The runner's own verdicts of the real runs (per-minute analyses, defaults). */
  realVerdicts: string[];
  replays: number;
  met: number;
  /** Replays of a no-fault case with any finding. */
  falseAlarms: number;
  /** Replays of a fault case with a finding of another kind, such as a descriptor leak in a drift run, by code. */
  otherFindings: Record<string, number>;
  medianTimeToDetectionS: number | null;
  regressionMet: number | null;
  regressionReplays: number;
}

function loadRecordings(dir: string): Recording[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return files.map((file) => RecordingSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8'))));
}

function cleanNights(clean: readonly Recording[], model: NoiseModel, variant: Variant, seedBase: number): HistoryEntry[] {
  const nights: HistoryEntry[] = [];
  for (let night = 0; night < BASELINE_NIGHTS; night++) {
    const recording = clean[night % clean.length]!;
    const warmupS = warmupSeconds(recording.durationS, variant.config.warmup);
    const series = withNoise(variant.resolution === '10s' ? recording.series10s : recording.series60s, model, seedBase + night + 1);
    const outcome = analyze(series, recording.runStartMs, warmupS, variant);
    nights.push(entryOf(series, recording, outcome.leaks, `night-${night}`, new Date(Date.UTC(2026, 10, 1 + night)).toISOString(), warmupS));
  }
  return nights;
}

export function evaluateCase(testCase: DetectionCase, recordings: readonly Recording[], clean: readonly Recording[], variant: Variant, replays: number): CaseResult {
  const warmupS = warmupSeconds(recordings[0]!.durationS, variant.config.warmup);
  const model = buildNoiseModel(clean, variant.resolution, warmupS);
  const pickSeries = (recording: Recording) => (variant.resolution === '10s' ? recording.series10s : recording.series60s);

  const realMet = recordings.filter((recording) => meetsExpectation(analyze(pickSeries(recording), recording.runStartMs, warmupS, variant).codes, testCase)).length;
  const expectedCodes = expectedRegression(testCase);
  let met = 0;
  let falseAlarms = 0;
  const otherFindings: Record<string, number> = {};
  let regressionMet = 0;
  const times: number[] = [];
  for (let replay = 0; replay < replays; replay++) {
    const recording = recordings[replay % recordings.length]!;
    const seed = 1 + replay * 101 + hash(testCase.id);
    const series = withNoise(pickSeries(recording), model, seed);
    const outcome = analyze(series, recording.runStartMs, warmupS, variant);
    if (meetsExpectation(outcome.codes, testCase)) met++;
    if (testCase.expect.verdict === 'PASS' && outcome.codes.length > 0) falseAlarms++;
    for (const code of outcome.codes) {
      // In a no-fault case every finding is of a kind the run did not inject: the false alarms.
      if (testCase.expect.verdict !== 'PASS' && (testCase.expect.reasons.includes(code) || injectedCodes(recording).includes(code))) continue;
      otherFindings[code] = (otherFindings[code] ?? 0) + 1;
    }
    const time = timeToDetection(series, recording.runStartMs, recording.durationS, variant, testCase);
    if (time !== null) times.push(time);
    if (expectedCodes !== null && clean.length > 0) {
      const nights = cleanNights(clean, model, variant, seed * 7);
      const current = entryOf(series, recording, outcome.leaks, 'current', '2026-12-01T00:00:00.000Z', warmupS);
      if (meetsRegression(regressionCodes(current, nights, variant), expectedCodes)) regressionMet++;
    }
  }
  return {
    variant: variant.name,
    caseId: testCase.id,
    fault: testCase.fault,
    strength: testCase.strength,
    realRuns: recordings.length,
    realMet,
    realVerdicts: recordings.map((recording) => recording.verdict),
    replays,
    met,
    falseAlarms,
    otherFindings,
    medianTimeToDetectionS: median(times),
    regressionMet: expectedCodes === null || clean.length === 0 ? null : regressionMet,
    regressionReplays: replays,
  };
}

/** Reason codes of every fault injected in the recorded run, two faults for a joined run. */
function injectedCodes(recording: Recording): string[] {
  return DETECTION_CASES.filter((testCase) => recording.runCases.includes(testCase.id)).flatMap((testCase) => [
    ...testCase.expect.reasons,
    ...(testCase.expect.alsoCauses ?? []),
  ]);
}

function hash(text: string): number {
  let value = 0;
  for (const char of text) value = (Math.imul(value, 31) + char.charCodeAt(0)) >>> 0;
  return value % 100_000;
}

function targetOf(testCase: DetectionCase): string {
  if (testCase.strength === 'strong') return 'all';
  if (testCase.strength === 'weak') return '≥ 90 %';
  return 'all (no finding)';
}

export function formatTable(results: readonly CaseResult[]): string {
  const header = ['case', 'fault', 'real runs met', 'runner verdict', 'replays met', 'false alarms', 'other findings', 'time to detection', 'regression met', 'target'];
  const rows = results.map((result) => {
    const testCase = DETECTION_CASES.find((candidate) => candidate.id === result.caseId)!;
    return [
      result.caseId,
      result.fault,
      `${result.realMet} of ${result.realRuns}`,
      result.realVerdicts.join(' '),
      `${result.met} of ${result.replays}`,
      testCase.expect.verdict === 'PASS' ? `${result.falseAlarms} of ${result.replays}` : '—',
      Object.entries(result.otherFindings).map(([code, count]) => `${code} ${count}`).join(', ') || '—',
      result.medianTimeToDetectionS === null ? '—' : `${result.medianTimeToDetectionS} s`,
      result.regressionMet === null ? '—' : `${result.regressionMet} of ${result.regressionReplays}`,
      targetOf(testCase),
    ];
  });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const USAGE =
  'Usage: npx tsx bench/detection/run.ts [--quick] [--record] [--cases GROUPS] [--replays N] [--recordings DIR]\n\n' +
  '  --record       run real soaks first (needs K6_BIN): every case twice, 9 runs of 5 min per round\n' +
  '  --quick        with --record: one clean run and one strong leak run (about 11 min); fewer replays\n' +
  '  --cases GROUPS with --record: comma-separated runs, each a case id or ids joined with +\n' +
  '  --replays N    replays per fault case (default 10, quick 5); no-fault cases get twice as many\n' +
  '  --recordings   folder of recordings (default bench/detection/recordings)\n';

async function main(): Promise<number> {
  const parsed = parseArgsOrExit(
    {
      options: {
        quick: { type: 'boolean', default: false },
        record: { type: 'boolean', default: false },
        cases: { type: 'string' },
        replays: { type: 'string' },
        recordings: { type: 'string', default: DEFAULT_RECORDINGS_DIR },
        help: { type: 'boolean', default: false },
      },
    },
    'detection',
    USAGE,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const faultReplays = Number(values.replays ?? (values.quick ? 5 : 10));
  if (!Number.isInteger(faultReplays) || faultReplays < 1 || faultReplays > 1000) {
    process.stderr.write(`detection: invalid --replays "${values.replays}": use a whole number from 1 to 1000.\n`);
    return 2;
  }
  const dir = resolve(values.recordings);
  if (values.record) {
    if (!process.env.K6_BIN) {
      process.stderr.write('detection: --record needs K6_BIN, the path of a k6 binary (tested with k6 v1.3.0).\n');
      return 2;
    }
    let groups = values.quick ? QUICK_RUNS : FULL_RUNS;
    if (values.cases) groups = values.cases.split(',');
    const unknown = unknownCases(groups);
    if (unknown.length > 0) {
      process.stderr.write(`detection: unknown case ${unknown.join(', ')}.\n`);
      return 2;
    }
    const failed = await recordRuns(groups, values.quick || values.cases ? 1 : 2, dir, (line) => process.stderr.write(`${line}\n`));
    if (failed.length > 0) process.stderr.write(`detection: ${failed.length} run(s) failed and are not in the table: ${failed.join(', ')}.\n`);
  }

  const recordings = loadRecordings(dir);
  const otherSetup = recordings.filter((recording) => !sameSetup(recording.apiArgs));
  if (otherSetup.length > 0) {
    process.stderr.write(
      `detection: ${otherSetup.length} recording(s) in ${dir} lack the switches every run now starts with (${BASE_API_ARGS.join(' ')}), ` +
        `such as ${otherSetup[0]!.caseId} #${otherSetup[0]!.repeat}; record them again so that all come from the same setup.\n`,
    );
    return 2;
  }
  // A run short of its planned load (LOAD_SHORT) happens when other processes starve k6
  // or the API of CPU. Its series then describe the machine rather than the fault.
  const shortOfLoad = recordings.filter((recording) => recording.reasons.includes('LOAD_SHORT'));
  if (shortOfLoad.length > 0) {
    const names = shortOfLoad.map((recording) => `${recording.caseId} #${recording.repeat}`).join(', ');
    process.stderr.write(`detection: left out ${shortOfLoad.length} recording(s) that fell short of the planned load (LOAD_SHORT): ${names}.\n`);
  }
  const usable = recordings.filter((recording) => !shortOfLoad.includes(recording));
  const clean = usable.filter((recording) => recording.caseId === 'clean');
  if (clean.length === 0) {
    process.stderr.write(`detection: no clean recording in ${dir}; the noise model needs one. Record one with --record --cases clean.\n`);
    return 2;
  }
  const results: CaseResult[] = [];
  const variant = defaultVariant(clean[0]!.durationS);
  for (const testCase of DETECTION_CASES) {
    const own = usable.filter((recording) => recording.caseId === testCase.id);
    if (own.length === 0) continue;
    const replays = testCase.expect.verdict === 'PASS' ? 2 * faultReplays : faultReplays;
    results.push(evaluateCase(testCase, own, clean, variant, replays));
  }
  const table = formatTable(results);
  process.stdout.write(`${table}\n`);
  process.stdout.write(
    '\n"real runs met" analyses each recorded series again with this checkout\'s rules; "runner verdict" is what the runner\n' +
      'said when the run was recorded, with the rules of that day. Replays add seeded noise (bench/detection/replay.ts).\n',
  );
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `detection-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ recordings: recordings.map((r) => ({ caseId: r.caseId, runId: r.runId, apiArgs: r.apiArgs, verdict: r.verdict, reasons: r.reasons })), results }, null, 2)}\n`);
  process.stderr.write(`detection: details in ${file}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
