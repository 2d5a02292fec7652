/**
 * berth's DNS service for container networks (what Docker's 127.0.0.11 resolver and
 * aardvark-dns do): one UDP listener on each network's gateway address answers A/AAAA/PTR
 * for the containers on that network by name, alias and hostname, and forwards every
 * other question to upstream resolvers (the container's --dns servers, or the host's).
 * It runs inside berthd, on the host side of the bridge, so host loopback resolvers such
 * as systemd-resolved's 127.0.0.53 stub are reachable as upstreams.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import { errorMessage } from '../core/errors.js';
import { logger } from '../core/log.js';

const log = logger('dns');

const TTL_SECONDS = 60;
const UPSTREAM_TIMEOUT_MS = 2000;
const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

export interface DnsZone {
  /** Addresses answering to `name` (lower-case, no trailing dot) for a client on `networkId` — on every network the client is on. */
  lookup(networkId: string, name: string, clientIp: string): { v4: string[]; v6: string[] } | undefined;
  /** The names for a reverse lookup of `ip` on the network. */
  reverse(networkId: string, ip: string): string | undefined;
  /** Where to send other questions from `clientIp` on the network; empty: answer SERVFAIL. */
  upstreams(networkId: string, clientIp: string): string[];
}

export class DnsServer {
  private readonly listeners = new Map<string, Socket>();

  constructor(private readonly zone: DnsZone) {}

  /** Serves the network on `address`:53. Idempotent. */
  async listen(networkId: string, address: string): Promise<void> {
    if (this.listeners.has(networkId)) return;
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false });
    socket.on('message', (message, remote) => {
      void this.answer(networkId, message, remote.address).then(
        (reply) => {
          if (reply) socket.send(reply, remote.port, remote.address);
        },
        (err: unknown) => log.debug('dns query failed', { networkId, error: errorMessage(err) }),
      );
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port: 53, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (err) => log.warn('dns listener error', { networkId, error: err.message }));
        resolve();
      });
    });
    socket.unref();
    this.listeners.set(networkId, socket);
  }

  close(networkId: string): void {
    this.listeners.get(networkId)?.close();
    this.listeners.delete(networkId);
  }

  closeAll(): void {
    for (const id of [...this.listeners.keys()]) this.close(id);
  }

  /** The reply to one query, or undefined to stay silent (malformed input). */
  async answer(networkId: string, message: Buffer, clientIp: string): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    if (query.type !== 'query' || !query.questions || query.questions.length !== 1) return undefined;
    const question = query.questions[0] as Question;
    const local = this.answerLocally(networkId, question, clientIp);
    if (local) return encodeReply(query, question, local.answers, local.rcode);
    const upstreams = this.zone.upstreams(networkId, clientIp);
    for (const upstream of upstreams) {
      const reply = await forward(upstream, message).catch(() => undefined);
      if (reply) return reply;
    }
    return encodeReply(query, question, [], upstreams.length === 0 ? RCODE_REFUSED : RCODE_SERVFAIL);
  }

  private answerLocally(networkId: string, question: Question, clientIp: string): { answers: Answer[]; rcode: number } | undefined {
    const name = question.name.toLowerCase().replace(/\.$/, '');
    if (question.type === 'PTR') {
      const ip = ipFromReverseName(name);
      const target = ip ? this.zone.reverse(networkId, ip) : undefined;
      return target ? { answers: [{ type: 'PTR', name: question.name, ttl: TTL_SECONDS, data: target }], rcode: 0 } : undefined;
    }
    const found = this.zone.lookup(networkId, name, clientIp);
    if (!found) return undefined;
    const answers: Answer[] = [];
    if (question.type === 'A') for (const ip of found.v4) answers.push({ type: 'A', name: question.name, ttl: TTL_SECONDS, data: ip });
    if (question.type === 'AAAA') for (const ip of found.v6) answers.push({ type: 'AAAA', name: question.name, ttl: TTL_SECONDS, data: ip });
    // A container name with no record of the asked type exists all the same: NOERROR, no data.
    return { answers, rcode: 0 };
  }
}

function encodeReply(query: DecodedPacket, question: Question, answers: Answer[], rcode: number): Buffer {
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode;
  return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags, questions: [question], answers });
}

function forward(upstream: string, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(upstream) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${upstream}`));
    }, UPSTREAM_TIMEOUT_MS);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, 53, upstream);
  });
}

/** `4.3.2.1.in-addr.arpa` → 1.2.3.4; IPv6 nibble names likewise. */
export function ipFromReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    return parts.length === 4 ? parts.reverse().join('.') : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32) return undefined;
    const hex = nibbles.reverse().join('');
    return (hex.match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':');
  }
  return undefined;
}
