"use strict";
const path = require("path");
const { z } = require("zod");
module.exports = { name: "cjs", config: { dir: path.resolve(__dirname, "data") }, schema: z.object({}) };
