// The admin SPA: served under /admin/ (the dev runner; CloudFront's S3 origin in AWS).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/admin/",
  plugins: [react()],
  build: {
    target: "es2022",
    // tests/unit/test_admin_bundle.py checks the initial JavaScript (what index.html loads).
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` against `make dev`: the API stays on the dev runner's port.
    proxy: { "/v1": "http://127.0.0.1:8000" },
  },
});
