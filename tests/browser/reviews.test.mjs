// Reviews in the pages: acme installs @fixture/plugin-hello, so its owner and its user may review it;
// the owner posts and then edits a review, the user posts one, finds the owner's helpful and reports it;
// the platform owner sees it in the moderation queue and hides it; then a visitor sees only the user's
// review, and the rating counts only that one. The plugin's page shows the rating and links to the reviews.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ORG,
  people,
  browsersByPerson,
  checkAccessibility,
  csrfToken,
  fetchFromPage,
  screenshot,
  uninstallIfInstalled,
  url,
} from './helpers.mjs';

const PLUGIN = '@fixture/plugin-hello';
const REVIEWS = `/reviews/${PLUGIN}`;
const browsers = browsersByPerson();

before(async () => {
  const { page } = await browsers.browserFor('owner');
  await page.goto(url('/plugins'));
  await uninstallIfInstalled(page, PLUGIN);
  const token = await csrfToken(page);
  const answer = await fetchFromPage(page, 'POST', `/api/orgs/${ORG}/plugins`, { body: { plugin: `${PLUGIN}@1.0.0` }, token });
  assert.equal(answer.status, 201, `installing ${PLUGIN}: ${JSON.stringify(answer.body)}`);
});

after(async () => {
  const { page } = await browsers.browserFor('owner');
  await page.goto(url('/plugins'));
  await uninstallIfInstalled(page, PLUGIN);
  await browsers.close();
});

/** Sends the form of `button` and waits for the reload it ends with; fails with what the form says. */
async function submitAndReload(page, button) {
  const error = button.locator('xpath=ancestor::form').locator('.form-error');
  const loaded = page.waitForEvent('load', { timeout: 30_000 }).then(() => null);
  await button.click();
  const failed = error
    .filter({ hasText: /\S/ })
    .waitFor({ timeout: 30_000 })
    .then(() => error.textContent())
    .catch(() => null);
  const said = await Promise.race([loaded, failed]);
  if (said) throw new Error(`the form answered: ${said}`);
}

const review = (page, name) => page.locator('article.review').filter({ has: page.getByRole('heading', { name: new RegExp(name) }) });

test('members of an organisation that uses the plugin write, edit and vote; moderators hide', async () => {
  // The owner writes, then edits: one review, showing the version acme has.
  const { page: owner } = await browsers.browserFor('owner');
  await owner.goto(url(REVIEWS));
  await owner.getByLabel('Organisation that uses it').selectOption(ORG);
  assert.match(await owner.getByLabel('Organisation that uses it').innerText(), /version 1\.0\.0/);
  await owner.getByLabel('Stars', { exact: true }).selectOption('2');
  await owner.getByLabel('What you found').fill('Greets, but slowly.');
  await submitAndReload(owner, owner.getByRole('button', { name: 'Post your review' }));
  await owner.getByLabel('Stars', { exact: true }).selectOption('5');
  await owner.getByLabel('What you found').fill('Greets every time; the settings are clear.');
  await submitAndReload(owner, owner.getByRole('button', { name: 'Save your review' }));
  const mine = review(owner, 'Olga Owner');
  assert.equal(await mine.count(), 1);
  assert.match(await mine.innerText(), /version 1\.0\.0/);
  assert.match(await mine.innerText(), /Greets every time/);
  assert.match(await owner.locator('.rating-summary').innerText(), /5(\.0)? of 5/);

  // The user writes one, finds the owner's helpful (once) and reports it.
  const { page: user } = await browsers.browserFor('user');
  await user.goto(url(REVIEWS));
  await user.getByLabel('Stars', { exact: true }).selectOption('3');
  await user.getByLabel('What you found').fill('Works; the greeting could be configurable per agent.');
  await submitAndReload(user, user.getByRole('button', { name: 'Post your review' }));
  const owners = review(user, 'Olga Owner');
  await submitAndReload(user, owners.getByRole('button', { name: 'Helpful' }));
  assert.match(await review(user, 'Olga Owner').innerText(), /1 found it helpful/);
  assert.equal(await review(user, 'Olga Owner').getByRole('button', { name: 'Helpful' }).count(), 0, 'voted once: the button withdraws now');
  await review(user, 'Olga Owner').getByLabel('Why report it').fill('Reads like an advertisement.');
  await review(user, 'Olga Owner').getByRole('button', { name: 'Report' }).click();
  await review(user, 'Olga Owner').getByText('Reported: a moderator will look at it.').waitFor();
  assert.match(await user.locator('.rating-summary').innerText(), /4(\.0)? of 5.*from 2 reviews/s);
  await screenshot(user, 'reviews');
  await checkAccessibility(user, 'reviews');

  // The platform owner's queue has it; hidden, it leaves everyone's page and the rating.
  const { page: platform } = await browsers.browserFor('platform');
  await platform.goto(url('/admin/reviews'));
  const queued = platform.locator('article.review').filter({ hasText: 'Reads like an advertisement.' });
  assert.equal(await queued.count(), 1);
  await screenshot(platform, 'reviews-moderation');
  await checkAccessibility(platform, 'reviews-moderation');
  await submitAndReload(platform, queued.getByRole('button', { name: 'Hide' }));
  assert.match(await platform.locator('article.review').first().innerText(), /hidden/);

  const { page: visitor } = await browsers.browserFor(null);
  await visitor.goto(url(REVIEWS));
  assert.equal(await review(visitor, 'Olga Owner').count(), 0, 'hidden from visitors');
  assert.equal(await review(visitor, 'Ulla User').count(), 1);
  assert.match(await visitor.locator('.rating-summary').innerText(), /3(\.0)? of 5.*from 1 review/s);
  assert.match(await visitor.getByText('Sign in to review it').innerText(), /Sign in/);
  // The moderator still sees it, marked hidden, and may restore it.
  await platform.goto(url(REVIEWS));
  assert.match(await review(platform, 'Olga Owner').innerText(), /hidden by a moderator/);

  // Its author sees it as hidden, their text in the form (not an empty form).
  await owner.goto(url(REVIEWS));
  assert.match(await owner.locator('.hidden-note').innerText(), /A moderator hid your review/);
  assert.equal(await owner.getByLabel('What you found').inputValue(), 'Greets every time; the settings are clear.');
  assert.equal(await owner.getByRole('button', { name: 'Save your review' }).count(), 1);

  // Banned from the queue: the moderators see the author's email there (bans go by email), then lift it.
  await platform.goto(url('/admin/reviews'));
  const reported = platform.locator('article.review').filter({ hasText: 'Greets every time; the settings are clear.' });
  assert.match(await reported.innerText(), new RegExp(`Ban ${people.owner.email.replace(/[.+]/g, '\\$&')} from reviewing`));
  await reported.getByLabel(/from reviewing, because/).fill('Advertises in reviews.');
  await submitAndReload(platform, reported.getByRole('button', { name: 'Ban the author' }));
  const banned = platform.locator('tbody tr').filter({ hasText: 'Advertises in reviews.' });
  assert.equal(await banned.count(), 1, 'banned from the queue');
  assert.match(await banned.innerText(), new RegExp(people.owner.email.replace(/[.+]/g, '\\$&')));
  await submitAndReload(platform, banned.getByRole('button', { name: 'Lift' }));
  assert.equal(await platform.locator('tbody tr').filter({ hasText: 'Advertises in reviews.' }).count(), 0, 'lifted');

  // The catalogue filters and sorts by rating: only the reviewed plugin is rated 3 or more.
  await visitor.goto(url('/plugins?min_rating=3&sort=rating'));
  const cards = visitor.locator('li.card');
  assert.equal(await cards.count(), 1);
  assert.match(await cards.first().innerText(), /@fixture\/plugin-hello[\s\S]*rated 3(\.0)? of 5 \(1 review\)/);
  assert.equal(await visitor.getByLabel('Rated').inputValue(), '3');
  await visitor.goto(url('/plugins?min_rating=4'));
  assert.equal(await visitor.locator('li.card').count(), 0);

  // The plugin's page shows the rating and leads to the reviews.
  await visitor.goto(url(`/plugins/${PLUGIN}`));
  assert.match(await visitor.locator('p.rating').innerText(), /Rated 3(\.0)? of 5 from 1 review/);
  await visitor.getByRole('link', { name: 'Reviews and ratings' }).click();
  await visitor.waitForURL((u) => u.pathname === REVIEWS);
});
