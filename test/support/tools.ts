// Real counterparts from Debian that tests run against. `.ci/run` installs them; on another machine a test that
// needs one fails with the package to install rather than skipping, so a missing tool never passes silently.
import { accessSync, constants } from 'node:fs';

export interface DebianTool {
  /** Absolute path of the executable. */
  readonly path: string;
  /** The Debian package that provides it. */
  readonly pkg: string;
}

export const tools = {
  prometheus: { path: '/usr/bin/prometheus', pkg: 'prometheus' },
  chromium: { path: '/usr/bin/chromium', pkg: 'chromium' },
  // Debian's python3, not a pyenv one on PATH: python3-grpcio and python3-kubernetes are installed for it.
  python3: { path: '/usr/bin/python3', pkg: 'python3-grpcio python3-kubernetes' },
  kubectl: { path: '/usr/bin/kubectl', pkg: 'kubernetes-client' },
  iptables: { path: '/usr/sbin/iptables', pkg: 'iptables' },
  ip: { path: '/usr/sbin/ip', pkg: 'iproute2' },
  setpriv: { path: '/usr/bin/setpriv', pkg: 'util-linux' },
} as const satisfies Record<string, DebianTool>;

/** The tool's path, or an error that says which package to install. */
export function requireTool(tool: DebianTool): string {
  try {
    accessSync(tool.path, constants.X_OK);
  } catch {
    throw new Error(`${tool.path} is missing: install Debian's ${tool.pkg} (apt-get install ${tool.pkg}; .ci/run does)`);
  }
  return tool.path;
}
