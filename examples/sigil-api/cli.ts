import { Command } from 'commander';
import { NUMERIC_OPTIONS, STRING_OPTIONS, parseNumericArgument, resolveOptions, type ExampleApiOptions } from './options.js';

function describeDefault(value: number | string | null): string {
  if (value === null) return 'off';
  if (value === '') return 'empty';
  return String(value);
}

/** Builds the command-line parser; `exitOverride` makes commander throw instead of exiting. */
export function buildCommand(): Command {
  const command = new Command()
    .name('sigil-api')
    .description('Example Sigil-DNA API with injectable faults, for soak tests. Prints its URL on stdout and logs JSON lines on stderr.')
    .exitOverride()
    .allowExcessArguments(false);

  for (const spec of NUMERIC_OPTIONS) {
    const range = `${spec.integer ? 'integer' : 'number'} ${spec.min}-${spec.max}`;
    command.option(`${spec.flag} <number>`, `${spec.help} [${range}, default ${describeDefault(spec.default)}]`);
  }
  for (const spec of STRING_OPTIONS) {
    command.option(`${spec.flag} <value>`, `${spec.help} [default ${describeDefault(spec.default)}]`);
  }
  return command;
}

/**
 * Parses command-line arguments (without the node and script paths) into validated options.
 * Throws ExampleApiOptionError for a bad value and CommanderError for an unknown option or `--help`.
 */
export function parseCommandLine(args: string[]): ExampleApiOptions {
  const command = buildCommand();
  command.parse(args, { from: 'user' });
  const raw = command.opts<Record<string, string | undefined>>();

  const options: Record<string, number | string> = {};
  for (const spec of NUMERIC_OPTIONS) {
    const text = raw[spec.key];
    if (text !== undefined) options[spec.key] = parseNumericArgument(spec, text);
  }
  for (const spec of STRING_OPTIONS) {
    const text = raw[spec.key];
    if (text !== undefined) options[spec.key] = text;
  }

  // Validate here too, so the message names the flag rather than the property.
  resolveOptions(options, 'flag');
  return options as ExampleApiOptions;
}
