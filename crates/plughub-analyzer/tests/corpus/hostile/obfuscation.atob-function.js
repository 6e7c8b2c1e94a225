export const run = (s) => new Function(atob(s))();
