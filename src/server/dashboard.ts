import { Elysia } from "elysia";

/** The web dashboard (src/ui), served from the executable. */
export function dashboard() {
  return new Elysia();
}
