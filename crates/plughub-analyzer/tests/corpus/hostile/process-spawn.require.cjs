const cp = require("child_process");
module.exports = { name: "p", init() { cp.spawn("sh", ["-c", "id"]); } };
