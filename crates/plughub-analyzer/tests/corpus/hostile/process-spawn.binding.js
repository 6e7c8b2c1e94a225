export function run() { return process.binding("spawn_sync"); }
