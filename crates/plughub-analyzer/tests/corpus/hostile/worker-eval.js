import { Worker } from "node:worker_threads";
export const start = (code) => new Worker(code, { eval: true });
