import os from "node:os";

/**
 * A small benchmark harness: runs `fn` in batches until `minMs` have passed (after a warm-up), and
 * reports the mean time per operation. Benchmarks print figures; they never assert on time.
 */
export interface BenchResult {
  name: string;
  ops: number;
  nsPerOp: number;
  /** Extra figures a benchmark derives (throughput, …), printed beside the time. */
  extra?: Record<string, string>;
}

export function bench(
  name: string,
  fn: () => unknown,
  opts: { minMs?: number; warmupMs?: number } = {},
): BenchResult {
  const { minMs = 1000, warmupMs = 300 } = opts;
  let sink: unknown;
  const runFor = (ms: number) => {
    let ops = 0;
    let batch = 64;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(ms * 1e6));
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < batch; i++) sink = fn();
      ops += batch;
      now = process.hrtime.bigint();
      if (batch < 1 << 16) batch *= 2;
    }
    return { ops, ns: Number(now - start) };
  };
  runFor(warmupMs);
  const { ops, ns } = runFor(minMs);
  keep(sink);
  return { name, ops, nsPerOp: ns / ops };
}

let kept: unknown;
function keep(x: unknown): void {
  kept = x;
  if (kept === Symbol.for("never")) console.log(kept);
}

/** Prints results as an aligned table and returns the text (for README tables). */
export function report(title: string, results: readonly BenchResult[]): string {
  const rows = results.map((r) => {
    const extra = r.extra
      ? Object.entries(r.extra)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")
      : "";
    return `| ${r.name} | ${r.nsPerOp.toFixed(1)} ns | ${extra} |`;
  });
  const text = [
    `### ${title}`,
    "",
    "| benchmark | time per op | figures |",
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
  console.log(text);
  return text;
}

/** A one-line description of this machine for benchmark records. */
export function machine(): string {
  return `${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
