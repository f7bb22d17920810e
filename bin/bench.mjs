#!/usr/bin/env node
// `npm run bench [-- <name>... --seconds N --pairs N]`: runs the TypeScript benches through
// tsx's loader, like bin/fulcrum-dev.mjs.
import { register } from "tsx/esm/api";

register();
await import("../bench/main.ts");
