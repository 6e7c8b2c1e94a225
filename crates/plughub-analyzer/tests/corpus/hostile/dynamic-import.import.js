export async function load(settings) { return import(settings.MODULE_URL); }
