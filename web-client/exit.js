// The quick exit: a button on every screen, Esc, or Shift pressed three
// times (GOV.UK's "Exit this page"). It blanks the page at once, wipes what
// the page holds in memory, and replaces the location with a neutral site,
// so Back does not return here. Loaded on its own, before the rest of the
// page, so it works even while (or if) the rest fails to load.

export const NEUTRAL_SITE = 'https://www.seznam.cz/';

const wipers = [];

/** Registers a function that forgets secrets held in memory on exit. */
export function onExit(wipe) {
  wipers.push(wipe);
}

export function quickExit() {
  document.documentElement.classList.add('exiting');
  if (document.body) document.body.replaceChildren();
  document.title = '';
  for (const wipe of wipers) {
    try { wipe(); } catch { /* exiting anyway */ }
  }
  window.location.replace(NEUTRAL_SITE);
}

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 1000;
let shiftTimes = [];

window.addEventListener('keydown', (event) => {
  if (event.isComposing) return;
  if (event.key === 'Escape') {
    event.preventDefault();
    quickExit();
    return;
  }
  if (event.key === 'Shift' && !event.repeat) {
    const now = performance.now();
    shiftTimes = shiftTimes.filter((t) => now - t < SHIFT_WINDOW_MS);
    shiftTimes.push(now);
    if (shiftTimes.length >= SHIFT_PRESSES) quickExit();
  } else {
    shiftTimes = [];
  }
}, true);

const bind = () => {
  document.getElementById('quick-exit')?.addEventListener('click', (event) => {
    event.preventDefault();
    quickExit();
  });
};
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
else bind();
