// A tiny authoritative DNS server on loopback (UDP, RFC 1035 wire format) answering A and AAAA queries from a
// table the test sets, so code that resolves names through configured servers (node:dns Resolver) meets real
// DNS answers: a name that resolves to loopback, one that mixes public and private addresses, one whose answer
// changes between queries (DNS rebinding). Unknown names get NXDOMAIN.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { parseIp } from '@ai-agent/common';

export type DnsRecordType = 'A' | 'AAAA';

/** Addresses per type, or a function of the query (its type and how many queries this name had before). */
export type DnsAnswer = { A?: string[]; AAAA?: string[] } | ((type: DnsRecordType, previousQueries: number) => string[]);

export interface DnsQuery {
  name: string;
  type: DnsRecordType | number;
}

export interface DnsFake {
  /** `127.0.0.1:<port>`, as node:dns `setServers` (and `egress.dns_servers`) takes it. */
  readonly server: string;
  readonly queries: DnsQuery[];
  set(name: string, answer: DnsAnswer): void;
  close(): Promise<void>;
}

const TYPES: Record<number, DnsRecordType> = { 1: 'A', 28: 'AAAA' };

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  while (msg[at]! !== 0) {
    const len = msg[at]!;
    labels.push(msg.subarray(at + 1, at + 1 + len).toString('ascii'));
    at += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

export async function startDnsFake(): Promise<DnsFake> {
  const socket = createSocket('udp4');
  const table = new Map<string, DnsAnswer>();
  const counts = new Map<string, number>();
  const queries: DnsQuery[] = [];

  function answer(msg: Buffer): Buffer {
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const type = TYPES[qtype];
    queries.push({ name, type: type ?? qtype });
    const entry = table.get(name);
    const previous = counts.get(`${name}/${qtype}`) ?? 0;
    counts.set(`${name}/${qtype}`, previous + 1);
    const addresses = !entry || !type ? [] : typeof entry === 'function' ? entry(type, previous) : (entry[type] ?? []);
    const records = addresses.map((text) => {
      const ip = parseIp(text);
      if (!ip || (ip.family === 4) !== (type === 'A')) throw new Error(`${text} is not an ${type} address`);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL 0: nothing may cache it
      rr.writeUInt16BE(ip.bytes.length, 10);
      return Buffer.concat([rr, ip.bytes]);
    });
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, opcode 0, AA, RD copied, RA; RCODE 3 (NXDOMAIN) for names the table does not hold.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | (entry ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    return Buffer.concat([header, question, ...records]);
  }

  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    try {
      socket.send(answer(msg), from.port, from.address);
    } catch {
      // A malformed query (or a bad test table) gets no answer: the client times out, as with a real server.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    set: (name, entry) => void table.set(name.toLowerCase(), entry),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
