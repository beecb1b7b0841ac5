import { identityKey, parseDuration } from '@trellis/plugin-sdk';
import { loadConfig } from '../../config/load.ts';
import { joinTokenStoreFor, trustBundleFile } from '../../identity/component.ts';
import { requireIdentity, requireString, UsageError, type Command } from '../args.ts';

export const tokenCreateCommand: Command = {
  name: 'token create',
  summary: "Issue a single-use, expiring join token for one identity (universal mode: a workload's first certificate request).",
  usage: 'trellis token create --identity <ns>/<sa> --config FILE [--ttl 1h]',
  options: { identity: { type: 'string', short: 'i' }, config: { type: 'string', short: 'c' }, ttl: { type: 'string' } },
  async run(values, _pos, io) {
    const identity = requireIdentity(values, this);
    const config = await loadConfig(requireString(values, 'config', this));
    const ttlText = (values.ttl as string | undefined) ?? '1h';
    const ttl = parseDuration(ttlText);
    if (ttl === undefined || ttl <= 0) throw new UsageError(`--ttl must be a duration such as 10m or 1h, got "${ttlText}"`);
    const { token, record } = await joinTokenStoreFor(config).create(identity, ttl);
    // The token goes to stdout alone (for $(...)); what it is for goes to stderr.
    io.out(`${token}\n`);
    io.err(`join token ${record.id} for ${identityKey(identity)}, single use, expires ${record.expiresAt}; the workload checks the controller with ${trustBundleFile(config)} (--ca)\n`);
    return 0;
  },
};

export const tokenListCommand: Command = {
  name: 'token list',
  summary: 'List the join tokens not used yet (ids, identities and expiry; never the tokens).',
  usage: 'trellis token list --config FILE',
  options: { config: { type: 'string', short: 'c' } },
  async run(values, _pos, io) {
    const config = await loadConfig(requireString(values, 'config', this));
    for (const r of await joinTokenStoreFor(config).pending()) io.out(`${r.id}  ${r.identity}  expires ${r.expiresAt}\n`);
    return 0;
  },
};
