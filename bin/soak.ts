/**
 * The `soak` CLI. Every command takes `--env NAME` (default `local`) and, in local
 * mode, `--results DIR` (default `./soak-results`). Exit codes: 0 PASS, 1 a failing
 * verdict (FAIL, REGRESSION, LEAK_SUSPECTED, DRIFT), 2 invalid input, 3 INCOMPLETE,
 * ERROR or STOPPED.
 */
import { Command, CommanderError, Option } from 'commander';
import { resolve } from 'node:path';
import { FolderResultStore } from '../adapters/local/folder-store.js';
import { InvalidRunDataError, RunNotFoundError, type StopRequest } from '../core/finalize.js';
import { releaseLock } from '../core/lock.js';
import { createLogger } from '../core/log.js';
import { keys } from '../core/ports.js';
import { RunIdSchema } from '../core/schemas.js';
import { finalizeAndNotify, formatSummary, openInBrowser, readReport } from './commands/finalize.js';
import { baselineCompare, baselineExclude, baselineInclude, baselinePin, baselineShow, baselineUnpin } from './commands/baseline.js';
import { loadRegressionConfig, showHistory } from './commands/history.js';
import { listRuns, runStatus } from './commands/list.js';
import { HistoryControlFileError } from '../core/history.js';
import { runLocal, type RunLocalOptions } from './commands/run-local.js';
import { startCloudRun, stopCloudRun, type StartOptions } from './commands/start.js';
import { isCloudEnv, openCloudEnvironment } from './cloud.js';
import type { ResultStore } from '../core/ports.js';
import { writeFileSync } from 'node:fs';
import { ExitCode, exitCodeForVerdict, UsageError, type Io } from './io.js';

const io: Io = { out: process.stdout, err: process.stderr };
const log = createLogger({ base: { component: 'soak-cli' }, level: process.env.SOAK_LOG_LEVEL ?? 'warn' });

function envOption(): Option {
  return new Option('--env <name>', 'environment name; selects config/<name>.json').default('local');
}

const DEFAULT_RESULTS = './soak-results';

function resultsOption(): Option {
  return new Option('--results <dir>', `local results folder, laid out like the bucket (default: ${DEFAULT_RESULTS}; for an env with config/deploy/<env>.json and no --results, its S3 bucket)`);
}

/** Opens the results of `env`: its S3 bucket when deployed and no --results was given, else a folder. */
async function storeFor(options: { env: string; results?: string }): Promise<ResultStore> {
  if (isCloudEnv(options.env, options.results !== undefined)) return (await openCloudEnvironment(options.env)).store;
  return new FolderResultStore(resolve(options.results ?? DEFAULT_RESULTS));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function checkRunId(runId: string): string {
  const parsed = RunIdSchema.safeParse(runId);
  if (!parsed.success) throw new UsageError(`run id "${runId}" is invalid: ${parsed.error.issues[0]?.message}.`);
  return runId;
}

async function handle(action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`soak: ${error.message}\n`);
      process.exitCode = ExitCode.InvalidInput;
      return;
    }
    if (error instanceof RunNotFoundError || error instanceof InvalidRunDataError || error instanceof HistoryControlFileError) {
      io.err.write(`soak: ${error.message}\n`);
      process.exitCode = ExitCode.InvalidInput;
      return;
    }
    io.err.write(`soak: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = ExitCode.NotJudged;
  }
}

export function buildProgram(): Command {
  const program = new Command('soak')
    .description('Run long k6 soak tests and report regressions, leaks and latency drift.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run a soak test; with --local, on this machine with local k6 processes')
    .option('--local', 'run on this machine (the only mode of `run`; `start` launches in AWS)')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--target <url>', 'base URL of the API under test, for example http://127.0.0.1:3000')
    .option('--scenario <name|path>', 'bundled scenario name (a folder under scenarios/) or path to a k6 script')
    .option('--rate <n>', 'iterations per second for bundled scenarios (1..100000; one request each)')
    .option('--duration <d>', 'planned duration, for example 30m or 8h (10s..72h)')
    .option('--segments <n>', 'k6 processes sharing the load through execution segments (1..64)')
    .option('--health-path <path>', 'health endpoint polled before any load (default from config: /healthz)')
    .option('--health-timeout <d>', 'how long to wait for the health endpoint, for example 60s')
    .option('--config <file>', 'environment configuration file (default config/<env>.json)')
    .option('--threshold <metric=expr>', 'extra threshold, repeatable, e.g. http_req_duration=p(99)<800', collect, [])
    .option('--label <key=value>', 'label recorded with the run, repeatable', collect, [])
    .option('--run-id <id>', 'run id to use instead of a generated one')
    .option('--webhook <url>', 'Slack incoming-webhook URL (else SOAK_SLACK_WEBHOOK_URL; else the message is printed)')
    .option('--dry-run', 'validate and print the plan without sending load')
    .option('--json', 'print progress and the result as JSON lines')
    .option('--open', 'open report.html when done')
    .action((options: RunLocalOptions & { local?: boolean }) =>
      handle(async () => {
        options.results ??= DEFAULT_RESULTS;
        if (!options.local) {
          throw new UsageError('soak run needs --local (runs on this machine). To run in AWS, deploy the stack and use `soak start --env NAME` (docs/deploy.md).');
        }
        return runLocal(options, io, log);
      }),
    );

  program
    .command('finalize')
    .description('finalize a run again from its stored windows alone (after a crash, or to re-render)')
    .argument('<runId>', 'the run to finalize')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--webhook <url>', 'Slack incoming-webhook URL for the notification')
    .option('--json', 'print the result as JSON')
    .option('--open', 'open report.html when done')
    .action((runId: string, options: { env: string; results?: string; webhook?: string; json?: boolean; open?: boolean }) =>
      handle(async () => {
        const store = await storeFor(options);
        let code: number;
        try {
          code = await finalizeAndNotify({ store, env: options.env, runId: checkRunId(runId), io, log: log.child({ runId, env: options.env }), webhook: options.webhook, json: options.json, open: options.open });
        } catch (error) {
          // A local run killed between taking the lock and writing its manifest has nothing
          // to finalize, and would hold the lock until its deadline.
          if (error instanceof RunNotFoundError && store instanceof FolderResultStore && (await releaseLock(store, options.env, runId))) {
            io.err.write(`soak: released the run lock of env "${options.env}": run ${runId} had taken it but has no manifest (it was killed while starting).\n`);
          }
          throw error;
        }
        // A finalized run is no longer active. Without this, a local run whose runner was
        // killed keeps the environment's lock until its deadline, and every new run is
        // rejected. In the cloud, finish-run and its sweep release the lock.
        if (store instanceof FolderResultStore) await releaseLock(store, options.env, runId);
        return code;
      }),
    );

  program
    .command('report')
    .description("print a finished run's summary")
    .argument('<runId>', 'the run')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--json', 'print report.json as is')
    .option('--open', 'open report.html in the default browser')
    .action((runId: string, options: { env: string; results?: string; json?: boolean; open?: boolean }) =>
      handle(async () => {
        const store = await storeFor(options);
        const report = await readReport(store, options.env, checkRunId(runId));
        let htmlPath = `${store.location}/${keys.reportHtml(options.env, runId)}`;
        if (store instanceof FolderResultStore) {
          htmlPath = resolve(store.root, keys.reportHtml(options.env, runId));
        } else if (options.open) {
          // A browser cannot open s3:// links: copy the self-contained page next to the user.
          const bytes = await store.get(keys.reportHtml(options.env, runId));
          if (bytes === undefined) throw new UsageError(`Run ${runId} has no report.html in ${store.location}.`);
          htmlPath = resolve(`${runId}.report.html`);
          writeFileSync(htmlPath, bytes);
        }
        io.out.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSummary(report, htmlPath));
        if (options.open) openInBrowser(htmlPath, io);
        return exitCodeForVerdict(report.verdict);
      }),
    );

  program
    .command('notify')
    .description("send a finished run's message again (Slack webhook, or print it)")
    .argument('<runId>', 'the run')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--webhook <url>', 'Slack incoming-webhook URL (else SOAK_SLACK_WEBHOOK_URL)')
    .action((runId: string, options: { env: string; results?: string; webhook?: string }) =>
      handle(async () => {
        const store = await storeFor(options);
        await readReport(store, options.env, checkRunId(runId));
        return finalizeAndNotify({ store, env: options.env, runId, io, log, webhook: options.webhook, forceNotify: true });
      }),
    );

  program
    .command('list')
    .description('list the runs of an environment, newest first')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--json', 'print JSON')
    .action((options: { env: string; results?: string; json?: boolean }) =>
      handle(async () => listRuns(await storeFor(options), options.env, io, options.json ?? false)),
    );

  program
    .command('status')
    .description("show a run's state: segments, windows stored, verdict when finalized")
    .argument('<runId>', 'the run')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--json', 'print JSON')
    .action((runId: string, options: { env: string; results?: string; json?: boolean }) =>
      handle(async () => runStatus(await storeFor(options), options.env, checkRunId(runId), io, options.json ?? false)),
    );

  program
    .command('stop')
    .description('stop every segment of a running run; it is finalized as STOPPED')
    .argument('<runId>', 'the run')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--reason <text>', 'why, recorded in the report', 'stopped with soak stop')
    .action((runId: string, options: { env: string; results?: string; reason: string }) =>
      handle(async () => {
        checkRunId(runId);
        if (isCloudEnv(options.env, options.results !== undefined)) return stopCloudRun(await openCloudEnvironment(options.env), runId, options.reason, io);
        const store = new FolderResultStore(resolve(options.results ?? DEFAULT_RESULTS));
        if ((await store.get(keys.manifest(options.env, runId))) === undefined) {
          throw new UsageError(`No run "${runId}" in env "${options.env}" under ${store.root}.`);
        }
        const stop: StopRequest = { kind: 'person', reason: options.reason, atMs: Date.now() };
        const created = await store.putIfAbsent(keys.stopRequest(options.env, runId), JSON.stringify(stop), 'application/json');
        io.out.write(
          created
            ? `Stop requested for ${runId}: each segment stops within about 10 s, then the run is finalized as STOPPED.\n`
            : `A stop was already requested for ${runId}.\n`,
        );
        return ExitCode.Pass;
      }),
    );

  program
    .command('start')
    .description('start an on-demand run in a deployed environment (prints the plan and cost first)')
    .requiredOption('--env <name>', 'deployed environment; needs config/deploy/<name>.json and its stack')
    .option('--target <url>', 'base URL of the API (default: the environment configuration)')
    .option('--scenario <name>', 'bundled scenario name')
    .option('--rate <n>', 'iterations per second')
    .option('--duration <d>', 'planned duration, for example 30m')
    .option('--segments <n>', 'Fargate tasks sharing the load')
    .option('--threshold <metric=expr>', 'extra threshold, repeatable', collect, [])
    .option('--label <key=value>', 'label recorded with the run, repeatable', collect, [])
    .option('--dry-run', 'print the plan and the cost estimate only')
    .option('--wait', 'follow the run to its verdict; the exit code is the verdict')
    .option('--json', 'print JSON lines')
    .action((options: StartOptions) =>
      handle(async () => {
        if (options.env === 'local') throw new UsageError('soak start runs in a deployed environment; for this machine use `soak run --local`.');
        return startCloudRun(await openCloudEnvironment(options.env), options, io);
      }),
    );

  program
    .command('history')
    .description('print the finished runs of an environment with p95, p99, error rate and their change against the baseline')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'only this scenario (default: every scenario with a history)')
    .option('--limit <n>', 'newest runs shown per scenario', '30')
    .option('--config <file>', "environment configuration whose baseline and regression settings apply (default: those of each scenario's newest run)")
    .option('--json', 'print JSON')
    .action((options: { env: string; results?: string; scenario?: string; limit: string; config?: string; json?: boolean }) =>
      handle(async () => {
        const store = await storeFor(options);
        const config = options.config ? await loadRegressionConfig(store, options.env, { file: options.config }) : undefined;
        return showHistory(store, { env: options.env, scenario: options.scenario, limit: Number(options.limit), json: options.json, config }, io);
      }),
    );

  const baseline = program.command('baseline').description('choose the earlier runs a run is compared with, or compare two runs');
  baseline
    .command('pin')
    .description('compare later runs with these runs instead of the last passing ones')
    .argument('<runIds...>', 'finished runs of one scenario')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the one whose history holds the runs)')
    .option('--note <text>', 'why, stored with the pin')
    .action((runIds: string[], options: { env: string; results?: string; scenario?: string; note?: string }) =>
      handle(async () =>
        baselinePin(await storeFor(options), { env: options.env, scenario: options.scenario, runIds: runIds.map(checkRunId), note: options.note }, io),
      ),
    );
  baseline
    .command('unpin')
    .description('compare with the last passing runs again')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the only one of the env)')
    .action((options: { env: string; results?: string; scenario?: string }) =>
      handle(async () => baselineUnpin(await storeFor(options), { env: options.env, scenario: options.scenario }, io)),
    );
  baseline
    .command('exclude')
    .description('keep a run out of every baseline, for example a night with a known outage')
    .argument('<runId>', 'the run')
    .requiredOption('--reason <text>', 'why, stored with the exclusion')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the one whose history holds the run)')
    .action((runId: string, options: { env: string; results?: string; scenario?: string; reason: string }) =>
      handle(async () =>
        baselineExclude(await storeFor(options), { env: options.env, scenario: options.scenario, runId: checkRunId(runId), reason: options.reason }, io),
      ),
    );
  baseline
    .command('include')
    .description('let an excluded run be part of baselines again')
    .argument('<runId>', 'the run')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the one whose history holds the run)')
    .action((runId: string, options: { env: string; results?: string; scenario?: string }) =>
      handle(async () => baselineInclude(await storeFor(options), { env: options.env, scenario: options.scenario, runId: checkRunId(runId) }, io)),
    );
  baseline
    .command('show')
    .description('print the pin and the exclusions of a scenario')
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the only one of the env)')
    .option('--json', 'print JSON')
    .action((options: { env: string; results?: string; scenario?: string; json?: boolean }) =>
      handle(async () => baselineShow(await storeFor(options), { env: options.env, scenario: options.scenario, json: options.json }, io)),
    );
  baseline
    .command('compare')
    .description('compare a finished run with named runs, or with its baseline; exits 1 when a figure regressed')
    .argument('<runId>', 'the run to judge')
    .option('--with <runId>', 'a run to compare with, repeatable (default: the baseline)', collect, [])
    .addOption(envOption())
    .addOption(resultsOption())
    .option('--scenario <name>', 'the scenario (default: the one whose history holds the runs)')
    .option('--config <file>', 'environment configuration whose regression settings apply (default: those the run was finalized with)')
    .option('--json', 'print JSON')
    .action((runId: string, options: { env: string; results?: string; scenario?: string; with: string[]; config?: string; json?: boolean }) =>
      handle(async () => {
        const store = await storeFor(options);
        const config = options.config ? await loadRegressionConfig(store, options.env, { file: options.config }) : undefined;
        const against = options.with.map(checkRunId);
        return baselineCompare(store, { env: options.env, scenario: options.scenario, runId: checkRunId(runId), against, json: options.json, config }, io);
      }),
    );

  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with code 0; usage errors (unknown option, missing argument) with 2.
      process.exitCode = error.exitCode === 0 ? 0 : ExitCode.InvalidInput;
      return;
    }
    throw error;
  }
}

await main();
