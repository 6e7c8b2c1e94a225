const name = ["child", "process"].join("_");
module.exports = require(name);
