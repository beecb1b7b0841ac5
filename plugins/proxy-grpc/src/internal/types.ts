import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { HttpFilter } from '@trellis/plugin-sdk';

export const routerFilter: HttpFilter = { name: 'envoy.filters.http.router', typed_config: typedConfig(ExtensionTypeUrls.router) };
