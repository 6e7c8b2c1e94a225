import vm from "node:vm";
export const run = (src) => vm.runInNewContext(src, {});
