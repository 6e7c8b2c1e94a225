export const snapshot = () => ({ ...process.env });
