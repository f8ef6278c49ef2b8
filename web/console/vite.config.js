import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The build goes where the Go server embeds it (internal/console/assets).
// No inline scripts or styles: the console is served with a strict CSP.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: '../../internal/console/assets/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
})
