#!/usr/bin/env node
// `npm run dev -- <args>`: the `fulcrum` command from src/ through tsx's loader, no build
// step; the tests spawn this one, so they always run the sources they sit beside.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
