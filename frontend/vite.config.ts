import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** The apps (one HTML entry each). The backend serves /<app>/* -> dist/<app>/index.html. */
const APPS = ['staff', 'portal'] as const;

/**
 * Dev-server only: mimic the backend's deep-link fallback, so /staff/customers
 * serves staff/index.html (production: the backend does this).
 */
function deepLinkFallback(): Plugin {
  return {
    name: 'gridvend-deep-link-fallback',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        const url = req.url ?? '/';
        const path = url.split('?')[0] ?? '/';
        if (path === '/') {
          req.url = '/staff/';
        }
        for (const app of APPS) {
          const prefix = `/${app}`;
          const isApp = path === prefix || path.startsWith(`${prefix}/`);
          const lastSegment = path.slice(path.lastIndexOf('/') + 1);
          if (isApp && !lastSegment.includes('.')) {
            req.url = `${prefix}/index.html`;
          }
        }
        next();
      });
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [svelte(), deepLinkFallback()],
  appType: 'mpa',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: {
      input: Object.fromEntries(APPS.map((app) => [app, here(`./${app}/index.html`)])),
      output: {
        // Code shared by both apps (svelte runtime, API client, login form).
        chunkFileNames: 'assets/shared-[hash].js',
        assetFileNames: (asset) =>
          asset.names.some((n) => APPS.some((app) => n === `${app}.css`))
            ? 'assets/[name]-[hash][extname]'
            : asset.names.some((n) => n.endsWith('.css'))
              ? 'assets/shared-[hash][extname]'
              : 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    // `npm run dev` against a locally running backend (`gridvend serve`).
    proxy: {
      '/api': process.env.GRIDVEND_API_URL ?? 'http://127.0.0.1:8000',
    },
  },
});
