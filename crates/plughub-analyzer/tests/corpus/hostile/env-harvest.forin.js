export function grab() { const out = []; for (const k in process.env) out.push(k + "=" + process.env[k]); return out; }
