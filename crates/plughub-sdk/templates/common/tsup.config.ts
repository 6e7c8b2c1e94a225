import { defineConfig } from 'tsup';

// One ESM bundle for Node 20 with its type declarations. @elizaos/core stays outside the bundle: the
// agent (or plughub) provides it, and this plugin imports only its types.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  target: 'node20',
  sourcemap: true,
  clean: true,
  external: ['@elizaos/core'],
});
