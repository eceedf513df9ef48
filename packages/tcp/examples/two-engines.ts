// Two TCP engines wired back to back in memory: a client connects, sends a greeting, the server
// echoes it in upper case, both close. Run: npx tsx examples/two-engines.ts
import { DecodeError } from "@userstack/wire";
import {
  decodeTcp,
  type TcpConnection,
  TcpEngine,
  TcpEvent,
  type TcpSegmentOut,
  writeTcpSegment,
} from "../src/index.js";

const CLIENT = 0x0a000001; // 10.0.0.1
const SERVER = 0x0a000002; // 10.0.0.2
let now = 0;
const wire: { to: number; bytes: Uint8Array }[] = [];
const send = (s: TcpSegmentOut): void => {
  const frame = new Uint8Array(1600);
  wire.push({ to: s.remoteAddress, bytes: frame.subarray(0, writeTcpSegment(s, frame)) });
};

const client = new TcpEngine().connect(now, CLIENT, 40000, SERVER, 7);
const listener = new TcpEngine().listen(SERVER, 7);
let server: TcpConnection | undefined;
const text = new TextDecoder();
const buf = new Uint8Array(1024);

client.dispatch(now, send); // the SYN
while (wire.length > 0 || client.state !== "CLOSED" || server?.state !== "CLOSED") {
  const frame = wire.shift();
  if (frame === undefined) {
    // Nothing in flight: jump to the next timer (TIME-WAIT here).
    now = Math.min(client.deadline() ?? Infinity, server?.deadline() ?? Infinity);
  } else {
    const from = frame.to === SERVER ? CLIENT : SERVER;
    const seg = decodeTcp(frame.bytes, from, frame.to);
    if (seg instanceof DecodeError) throw new Error(String(seg));
    if (frame.to === CLIENT) client.input(seg, now);
    else if (server !== undefined) server.input(seg, now);
    else server = listener.input(seg, now, from, frame.to);
  }
  const ce = client.takeEvents();
  if (ce & TcpEvent.Established) client.write(new TextEncoder().encode("hello, tcp"), now);
  if (ce & TcpEvent.Readable && client.read(buf, now) > 0) {
    console.log(`client got "${text.decode(buf.subarray(0, 10))}"`);
    client.close(now);
  }
  if (server !== undefined) {
    const se = server.takeEvents();
    if (se & TcpEvent.Readable) {
      const n = server.read(buf, now);
      if (n > 0) server.write(new TextEncoder().encode(text.decode(buf.subarray(0, n)).toUpperCase()), now);
      else if (n < 0) server.close(now); // the client's FIN: close our side too
    }
    server.dispatch(now, send);
  }
  client.dispatch(now, send);
}
console.log(`both closed at t=${now} ms; client ${client.status().segmentsOut} segments out`);
