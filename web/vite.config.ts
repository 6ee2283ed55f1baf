import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// base "./": every asset URL is relative, so the UI works behind any path prefix.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "../src/tracelake/web/dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  // npm run dev: every path the UI calls goes to a server on port 8000 (the signed attachment
  // URLs it hands out are under /attachment too).
  server: {
    proxy: Object.fromEntries(
      ["/v1", "/btql", "/api", "/attachment", "/version"].map((p) => [p, "http://127.0.0.1:8000"]),
    ),
  },
});
