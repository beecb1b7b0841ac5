/** The catalog's hostname forms are the SDK's naming rules (one definition for core and backends). */
export { serviceHostnames as hostnames, serviceFqdn as fqdn } from '@trellis/plugin-sdk';
