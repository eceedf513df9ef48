import { u32 } from "@userstack/wire";
import { describe, expect, it } from "vitest";
import { MessageReader } from "./message-reader.js";
import { MessageWriter } from "./message-writer.js";
import { MAX_DATA, MessageType } from "./wire-format.js";

/** A writer whose batches are collected, flushed by hand. */
function writer(transfers = false) {
  const batches: Uint8Array[] = [];
  const w = new MessageWriter((b) => batches.push(b), transfers);
  const bytes = () => {
    w.flush();
    const all = new Uint8Array(batches.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of batches) {
      all.set(b, at);
      at += b.length;
    }
    return all;
  };
  return { w, batches, bytes };
}

function readAll(stream: Uint8Array, chunk: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  const r = new MessageReader((m) => got.push(m.slice()));
  let ok = true;
  for (let i = 0; i < stream.length; i += chunk) ok &&= r.push(stream.subarray(i, i + chunk));
  expect(ok).toBe(true);
  expect(r.midMessage).toBe(false);
  return got;
}

describe("message framing", () => {
  it("writes a 4-byte big-endian length, the type, then the fields", () => {
    const { w, bytes } = writer();
    const b = w.begin(MessageType.Shutdown, 5);
    w.bytes.set([0, 0, 1, 2], b + 1);
    expect([...bytes()]).toEqual([0, 0, 0, 5, MessageType.Shutdown, 0, 0, 1, 2]);
  });

  it("coalesces consecutive writes for one handle into one message, not across handles or types", () => {
    const { w, bytes } = writer();
    for (const [h, n] of [
      [7, 3],
      [7, 4],
      [8, 2],
      [7, 1],
    ] as const) {
      const room = w.dataRoom(MessageType.Write, h, n);
      room.fill(h);
      w.commitData(n);
    }
    const msgs = readAll(bytes(), 1);
    expect(msgs.map((m) => [m[0], u32(m, 1), m.length - 5])).toEqual([
      [MessageType.Write, 7, 7],
      [MessageType.Write, 8, 2],
      [MessageType.Write, 7, 1],
    ]);
  });

  it("takes back a data message nothing was written into", () => {
    const { w, bytes } = writer();
    w.dataRoom(MessageType.Data, 1, 100);
    w.commitData(0);
    expect(bytes().length).toBe(0);
  });

  it("splits data runs at MAX_DATA and reads them back whatever the chunking", () => {
    const { w, bytes } = writer();
    const payload = new Uint8Array(MAX_DATA * 2 + 1000).map((_, i) => i * 7);
    for (let off = 0; off < payload.length; ) {
      const room = w.dataRoom(MessageType.Data, 3, payload.length - off);
      room.set(payload.subarray(off, off + room.length));
      w.commitData(room.length);
      off += room.length;
    }
    const stream = bytes();
    for (const chunk of [3, 4099, 65536, stream.length]) {
      const msgs = readAll(stream, chunk);
      expect(msgs.map((m) => m.length - 5)).toEqual([MAX_DATA, MAX_DATA, 1000]);
      const joined = new Uint8Array(payload.length);
      let at = 0;
      for (const m of msgs) {
        joined.set(m.subarray(5), at);
        at += m.length - 5;
      }
      expect(Buffer.compare(joined, payload)).toBe(0);
    }
  });

  it("gives each batch a buffer of its own when the transport transfers it", () => {
    const { w, batches } = writer(true);
    w.begin(MessageType.Close, 5);
    w.flush();
    w.begin(MessageType.Abort, 5);
    w.flush();
    expect(batches).toHaveLength(2);
    expect(batches[0]!.buffer).not.toBe(batches[1]!.buffer);
    expect(batches.every((b) => b.byteOffset === 0)).toBe(true);
  });

  it("flushes by itself once per synchronous run", async () => {
    const { w, batches } = writer();
    for (let i = 0; i < 10; i++) w.begin(MessageType.Status, 5);
    expect(batches).toHaveLength(0);
    await Promise.resolve();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.length).toBe(90);
  });

  it("stops on a zero length or one over the limit, without buffering it", () => {
    const r1 = new MessageReader(() => {});
    expect(r1.push(new Uint8Array([0, 0, 0, 0]))).toBe(false);
    expect(r1.fault).toBe("empty-message");
    const got: Uint8Array[] = [];
    const r2 = new MessageReader((m) => got.push(m), 1024);
    expect(r2.push(new Uint8Array([0, 0, 0, 1, 9, 0, 0, 4]))).toBe(true);
    expect(r2.push(new Uint8Array([1, 0]))).toBe(false);
    expect(r2.fault).toBe("oversize");
    expect(got).toHaveLength(1);
  });
});
