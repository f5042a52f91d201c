import { buildDashboard } from "./build.ts" with { type: "macro" };

/** The built dashboard, inlined by the macro (see build.ts for when it runs). */
export const assets = buildDashboard();
