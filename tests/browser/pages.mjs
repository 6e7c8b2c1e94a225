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
  { name: 'plugins-search', path: '/plugins?q=discord', as: null },
  { name: 'compatibility-page', path: '/plugins/compatibility', as: null },
  { name: 'detail', path: '/plugins/@elizaos/plugin-discord', as: null },
  { name: 'detail-fixture-owner', path: '/plugins/@fixture/plugin-hello', as: 'owner' },
  { name: 'install', path: '/plugins/@fixture/plugin-hello/install?org=acme', as: 'owner' },
  { name: 'installed', path: '/plugins/installed?org=acme', as: 'owner' },
  { name: 'playground', path: '/plugins/playground?org=acme', as: 'owner' },
  { name: 'activity', path: '/plugins/activity?org=acme', as: 'owner' },
  { name: 'activity-events', path: '/plugins/activity?org=acme&show=events', as: 'owner' },
  { name: 'security', path: '/plugins/security?org=acme', as: 'owner' },
  { name: 'account', path: '/account', as: 'owner' },
  { name: 'members', path: '/members?org=acme', as: 'owner' },
  { name: 'admin', path: '/admin', as: 'platform' },
  { name: 'reviews-page', path: '/reviews/@elizaos/plugin-discord', as: 'user' },
  { name: 'moderation', path: '/admin/reviews', as: 'platform' },
  { name: 'analytics', path: '/plugins/analytics?org=acme', as: 'owner' },
  { name: 'analytics-platform', path: '/plugins/analytics', as: 'platform' },
  { name: 'notifications-page', path: '/notifications', as: 'owner' },
  { name: 'webhooks-page', path: '/webhooks?org=acme', as: 'owner' },
  { name: 'login', path: '/login', as: null },
  { name: 'publisher', path: '/publishers/@elizaos', as: null },
  { name: 'publisher-signed-in', path: '/publishers/@bealers', as: 'owner' },
  { name: 'collections-page', path: '/collections', as: null },
  { name: 'collection-page', path: '/collections/model-providers', as: null },
  { name: 'compare-page', path: '/compare?plugins=@fixture/plugin-hello,@fixture/plugin-echo-model', as: null },
  { name: 'admin-publishers', path: '/admin/publishers', as: 'platform' },
  { name: 'api-docs', path: '/api/docs', as: null },
  { name: 'admin-registry', path: '/admin/registry', as: 'platform' },
];

// The pages Lighthouse measures (lighthouse.test.mjs): the catalogue, and one plugin's page. The set-up's
// sync against the loopback registry leaves the starter's plugins without their npm data (the registry
// answers 404 for them), so the plugin is the fixture the sync brought in whole: settings, versions,
// components and what it asks for.
export const lighthousePages = {
  catalogue: { path: '/plugins', as: null },
  detail: { path: '/plugins/@fixture/plugin-hello', as: null },
};
