import { h } from "preact";
import htm from "htm";

/** JSX-like templates without a compile step (tsc needs no jsx settings for them). */
export const html = htm.bind(h);
