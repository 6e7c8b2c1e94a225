// The web UI's pages, in one list: every page here is opened in Chromium, checked with axe-core
// (axe.test.mjs), screenshotted, and checked for its security headers (headers.test.mjs). A new page of the
// UI goes here, with who must be signed in to see it.
//
// `as`: null for a page anyone may open; otherwise the person signed in (through /login) before opening
// it, a key of `people` in helpers.mjs: 'owner' (org_owner in acme), 'user' (org_user in acme),
// 'platform' (platform_owner).
// `name`: the screenshot's file name (browser-artifacts/<name>.png); unique.

export const pages = [
  { name: 'plugins', path: '/plugins', as: null },
  { name: 'plugins-signed-in', path: '/plugins', as: 'user' },
  { name: 'login', path: '/login', as: null },
];

// The pages Lighthouse measures (lighthouse.test.mjs): the catalogue, and one plugin's page. There is no
// plugin page yet: until there is, the catalogue searched for one plugin stands in for it. Replace
// `detail.path` with the plugin page's address (e.g. '/plugins/@elizaos%2Fplugin-discord') once it exists.
export const lighthousePages = {
  catalogue: { path: '/plugins', as: null },
  detail: { path: '/plugins?q=discord', as: null },
};
