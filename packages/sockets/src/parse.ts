import { parseIpv4 } from "@userstack/ipv4";
import { ArgumentError } from "./errors.js";

/**
 * An IPv4 address argument as a number. userstack has no DNS resolver: a name other than
 * `localhost` is refused with a sentence that says so.
 */
export function addressArgument(host: string | undefined, what: string, fallback: number): number {
  if (host === undefined || host === "") return fallback;
  if (host === "localhost") return fallback;
  const a = parseIpv4(host);
  if (a === undefined) {
    throw new ArgumentError(
      `${what} "${host}" is not an IPv4 address; userstack resolves no names, so pass dotted-quad text such as "10.0.0.2".`,
    );
  }
  return a;
}

/** A port argument (number or numeric string) as a number; 0 allowed when `allowZero`. */
export function portArgument(port: unknown, what: string, allowZero: boolean): number {
  const n = typeof port === "string" && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== "number" || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    throw new ArgumentError(
      `${what} must be an integer from ${allowZero ? 0 : 1} to 65535, got ${String(port)}.`,
    );
  }
  return n;
}
