/**
 * A mistake in how a program was called (an unknown option, a port out of range…). Its message is
 * one sentence saying what to type instead; programs print it and exit with code 2.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
