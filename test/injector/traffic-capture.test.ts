import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initScript } from '@trellis/core';
import { requireTool, tools } from '../support/tools.ts';

/**
 * The init container's iptables script, for real: a "pod" network namespace with the rules loaded and a "peer"
 * namespace joined to it by a veth pair. Stand-in listeners on 15001 / 15003 answer with their name, so a
 * connection shows where the redirect sent it. Needs root (network namespaces) and Debian's iptables/iproute2.
 */

const run = promisify(execFile);
const ip = requireTool(tools.ip);
requireTool(tools.iptables);
const setpriv = requireTool(tools.setpriv);

const id = randomBytes(3).toString('hex');
const POD = `trellis-pod-${id}`;
const PEER = `trellis-peer-${id}`;
const POD_IP = '10.231.0.1';
const PEER_IP = '10.231.0.2';
// A second peer address inside an excluded range.
const PEER_EXCLUDED_IP = '10.232.0.2';
const children: ChildProcess[] = [];

/** A node process inside `ns` answering each port with its tag; resolves once all listen. */
function listeners(ns: string, ports: [number, string][]): Promise<void> {
  const code = `const net=require('node:net');let n=0;const ps=JSON.parse(process.argv[1]);for(const [p,t] of ps)net.createServer(s=>{s.on('error',()=>{});s.end(t)}).listen(p,'0.0.0.0',()=>{if(++n===ps.length)console.log('ready')});`;
  const child = spawn(ip, ['netns', 'exec', ns, process.execPath, '-e', code, JSON.stringify(ports)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (c) => reject(new Error(`listeners in ${ns} exited (${c})`)));
  });
}

/** What a TCP connection from `ns` (as `uid`, if given) to host:port is answered with. */
async function connect(ns: string, host: string, port: number, uid?: number): Promise<string> {
  const code = `const s=require('node:net').connect(${port},'${host}');let d='';s.setTimeout(5000,()=>{console.log('timeout');process.exit(0)});s.on('data',c=>d+=c);s.on('end',()=>{console.log(d);process.exit(0)});s.on('error',e=>{console.log('error:'+e.code);process.exit(0)});`;
  const argv = [...(uid === undefined ? [] : [setpriv, '--reuid', String(uid), '--regid', String(uid), '--clear-groups']), process.execPath, '-e', code];
  const { stdout } = await run(ip, ['netns', 'exec', ns, ...argv], { timeout: 20_000 });
  return stdout.trim();
}

beforeAll(async () => {
  await run(ip, ['netns', 'add', POD]);
  await run(ip, ['netns', 'add', PEER]);
  const [a, b] = [`tp${id}`, `tq${id}`];
  await run(ip, ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  await run(ip, ['link', 'set', a, 'netns', POD]);
  await run(ip, ['link', 'set', b, 'netns', PEER]);
  for (const [ns, dev, addrs] of [
    [POD, a, [`${POD_IP}/24`]],
    [PEER, b, [`${PEER_IP}/24`, `${PEER_EXCLUDED_IP}/24`]],
  ] as const) {
    for (const addr of addrs) await run(ip, ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
    await run(ip, ['-n', ns, 'link', 'set', dev, 'up']);
    await run(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await run(ip, ['-n', POD, 'route', 'add', '10.232.0.0/24', 'dev', a]);
  // The init container's script, exactly as injected, with exclusions as annotations would give them.
  await run(ip, ['netns', 'exec', POD, '/bin/sh', '-c', initScript({ excludeOutboundPorts: [9090], excludeOutboundIpRanges: ['10.232.0.0/24'], excludeInboundPorts: [7070] })]);
  await listeners(POD, [
    [15001, 'envoy-outbound'],
    [15003, 'envoy-inbound'],
    [15901, 'envoy-liveness-probe'],
    [7070, 'app-7070'],
    [8080, 'app-8080'],
  ]);
  await listeners(PEER, [
    [8080, 'peer-8080'],
    [9090, 'peer-9090'],
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  // Deleting the namespaces removes the veth pair and the rules with them, whatever failed above.
  for (const ns of [POD, PEER]) await run(ip, ['netns', 'del', ns]).catch(() => undefined);
  await run(ip, ['link', 'del', `tp${id}`]).catch(() => undefined); // left in the root namespace if setup failed early
});

describe("the init container's traffic capture (iptables in network namespaces)", () => {
  it('loads into the nat table', async () => {
    const { stdout } = await run(ip, ['netns', 'exec', POD, 'iptables', '-t', 'nat', '-S']);
    expect(stdout).toContain('-A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 15001');
  });

  it("redirects the app's outbound TCP to Envoy's 15001", async () => {
    expect(await connect(POD, PEER_IP, 8080)).toBe('envoy-outbound');
  });

  it("lets Envoy's own traffic (UID 1500) out unredirected", async () => {
    expect(await connect(POD, PEER_IP, 8080, 1500)).toBe('peer-8080');
    // Any other non-root UID is captured like the app.
    expect(await connect(POD, PEER_IP, 8080, 1234)).toBe('envoy-outbound');
  });

  it('does not capture excluded outbound ports or IP ranges, nor loopback', async () => {
    expect(await connect(POD, PEER_IP, 9090)).toBe('peer-9090');
    expect(await connect(POD, PEER_EXCLUDED_IP, 8080)).toBe('peer-8080');
    expect(await connect(POD, '127.0.0.1', 8080)).toBe('app-8080');
  });

  it("redirects inbound TCP to Envoy's 15003, except excluded ports and the probe ports", async () => {
    expect(await connect(PEER, POD_IP, 8080)).toBe('envoy-inbound');
    expect(await connect(PEER, POD_IP, 7070)).toBe('app-7070');
    expect(await connect(PEER, POD_IP, 15901)).toBe('envoy-liveness-probe');
  });
});
