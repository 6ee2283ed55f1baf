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
  server: {
    proxy: Object.fromEntries(
      ["/v1", "/btql", "/api", "/version"].map((p) => [p, "http://127.0.0.1:8000"]),
    ),
  },
});
