import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
for (const [w,h,tag] of [[320,700,'phone'],[1100,900,'desk']]) {
  const page = await browser.newPage({ viewport: { width: w, height: h } });
  await page.goto('http://127.0.0.1:8080/');
  await page.locator('#screen-home').waitFor({state:'visible'});
  await page.screenshot({ path: `/tmp/shots/home-${tag}.png`, fullPage: true });
  await page.click('#start-new');
  await page.check('input[name=danger][value=yes]');
  await page.screenshot({ path: `/tmp/shots/form-${tag}.png`, fullPage: true });
  await page.fill('#message', 'Testovací zpráva');
  await page.click('#send');
  await page.locator('#screen-code').waitFor({state:'visible'});
  await page.screenshot({ path: `/tmp/shots/code-${tag}.png`, fullPage: true });
  await page.check('#code-noted'); await page.click('#code-continue');
  await page.locator('#screen-thread').waitFor({state:'visible'});
  await page.screenshot({ path: `/tmp/shots/thread-${tag}.png`, fullPage: true });
}
await browser.close();
