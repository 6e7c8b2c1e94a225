export const banner = "Inferno Drainer v2 loaded";
