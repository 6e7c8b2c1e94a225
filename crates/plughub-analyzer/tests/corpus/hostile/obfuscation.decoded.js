const payload = "Y29uc29sZS5sb2coJ2hpJyk=";
export const run = () => eval(Buffer.from(payload, "base64").toString());
