import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage-error.js";

/** Exit code for bad arguments, as shells and getopt programs use it. */
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A parsed command line: option values by name and the positional arguments. */
export interface ProgramArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * `util.parseArgs` with its errors turned into one {@link UsageError} sentence each (Node's own
 * messages run to three lines and talk about `--` separators).
 */
export function parseProgramArgs(argv: string[], options: Options): ProgramArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ProgramArgs["values"], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const option = /'(-[^'\s]*)/.exec(err.message)?.[1] ?? "";
    switch (err.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(`unknown option ${option}; --help lists the options.`);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(
          option.length > 0 && /argument missing/.test(err.message)
            ? `option ${option.split(" ")[0]} needs a value, as in ${option.split(" ")[0]} <value>.`
            : `${err.message.split("\n")[0]}`,
        );
      default:
        throw new UsageError(err.message.split("\n")[0] ?? String(err));
    }
  }
}

/** Parses a whole number option within bounds, or throws a {@link UsageError} naming it. */
export function intOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}".`);
  }
  return Number(value);
}

/** Error shapes worth one line rather than a stack trace: Node system errors and userstack's. */
function isExplained(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" || e.name === "DriverError" || e.name === "ArgumentError";
}

/**
 * Runs a program's `main`: a {@link UsageError} prints `name: sentence` on stderr and exits with 2;
 * a socket or driver error (it carries a code and a readable message) prints one line and exits
 * with 1; anything else is a bug and keeps its stack trace.
 */
export function runProgram(name: string, main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`${name}: ${e.message}\n`);
        process.exit(EXIT_USAGE);
      }
      if (isExplained(e)) {
        process.stderr.write(`${name}: ${e.message}\n`);
        process.exit(1);
      }
      process.stderr.write(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
