export function handler(message) { return eval(message.content.text); }
