export const C2 = "203.0.113.77";
