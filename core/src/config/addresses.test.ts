import { describe, expect, it } from 'vitest';
import { collide, isLoopback, listenAddressProblem, parseHostPort } from './addresses.ts';

describe('listen addresses', () => {
  it('accepts IPv4, bracketed IPv6 and host names with a port up to 65535', () => {
    for (const ok of ['0.0.0.0:15128', '127.0.0.1:0', '[::1]:9091', '[::]:65535', 'localhost:9091', 'trellis.mesh.svc:15128', '[::ffff:10.0.0.1]:80'])
      expect(listenAddressProblem(ok), ok).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(listenAddressProblem('127.0.0.1:65536')).toBe('port 65536 is out of range (0-65535)');
    expect(listenAddressProblem('10.0.0.256:80')).toBe('"10.0.0.256" is not an IPv4 address');
    expect(listenAddressProblem('1.2.3:80')).toBe('"1.2.3" is not an IPv4 address');
    expect(listenAddressProblem('[fe80:::1]:80')).toBe('"fe80:::1" is not an IPv6 address');
    expect(listenAddressProblem('-bad-:80')).toBe('"-bad-" is neither an IP address nor a host name');
  });

  it('finds listeners that would collide, and loopback hosts', () => {
    const hp = (t: string) => parseHostPort(t) ?? { host: '', port: -1 };
    expect(collide(hp('0.0.0.0:9091'), hp('127.0.0.1:9091'))).toBe(true);
    expect(collide(hp('127.0.0.1:9091'), hp('[::]:9091'))).toBe(true);
    expect(collide(hp('127.0.0.1:9091'), hp('127.0.0.2:9091'))).toBe(false);
    expect(collide(hp('127.0.0.1:0'), hp('127.0.0.1:0'))).toBe(false);
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
