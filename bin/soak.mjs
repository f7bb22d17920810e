#!/usr/bin/env node
// `npm run soak -- --minutes N`: runs bench/soak/main.ts through tsx's loader, like bin/bench.mjs.
import { register } from "tsx/esm/api";

register();
await import("../bench/soak/main.ts");
