export const make = (body) => new Function("runtime", body);
