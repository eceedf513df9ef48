import { DEFAULT_TCP_CONFIG, type TcpConfig } from "@userstack/tcp";

/** The largest socket buffer a client may ask the daemon for (the daemon's memory is shared). */
export const MAX_CLIENT_BUFFER = 16 * 1024 * 1024;

/**
 * The TCP settings a client sent with Open or Listen (JSON of a `Partial<TcpConfig>`), checked:
 * only known fields with the type of their default, buffers at most {@link MAX_CLIENT_BUFFER}.
 * Returns the settings or one sentence saying what is wrong.
 */
export function parseTcpOptions(json: string): Partial<TcpConfig> | string {
  if (json === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return "the TCP options are not valid JSON";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return "the TCP options must be a JSON object";
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!Object.hasOwn(DEFAULT_TCP_CONFIG, k)) return `unknown TCP option "${k}"`;
    const expected = typeof DEFAULT_TCP_CONFIG[k as keyof TcpConfig];
    if (typeof v !== expected) return `TCP option "${k}" must be a ${expected}`;
    if ((k === "sendBufferSize" || k === "receiveBufferSize") && (v as number) > MAX_CLIENT_BUFFER)
      return `TCP option "${k}" is over the daemon's limit of ${MAX_CLIENT_BUFFER} bytes`;
    out[k] = v;
  }
  return out as Partial<TcpConfig>;
}
