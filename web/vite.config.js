// Relative asset URLs so the dashboard works wherever the binary mounts it; one JS chunk.
import { defineConfig } from 'vite';
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 8192, chunkSizeWarningLimit: 1500 },
});
