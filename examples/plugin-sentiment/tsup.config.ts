import { defineConfig } from 'tsup';

// ESM for Node 20, the types beside it; @elizaos/core is the agent's own copy (a peer), never bundled.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  dts: true,
  clean: true,
  sourcemap: false,
  external: ['@elizaos/core'],
});
