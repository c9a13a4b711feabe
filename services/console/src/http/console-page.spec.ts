import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Issue 14, Security: the console page puts attacker-chosen names (query names, zones, AS names)
 * on screen. The browser test (services/console/test/integration/console.test.ts) shows hostile names inert; this
 * keeps the page from ever growing a path that parses text as markup or code.
 */
const page = readFileSync(join(__dirname, '..', '..', 'public', 'console.js'), 'utf8');
const code = page.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');

describe('console page', () => {
  it.each([
    ['innerHTML', /\.innerHTML\b/],
    ['outerHTML', /\.outerHTML\b/],
    ['insertAdjacentHTML', /insertAdjacentHTML/],
    ['document.write', /document\.write/],
    ['eval', /\beval\s*\(/],
    ['new Function', /new\s+Function\b/],
    ['string timers', /set(Timeout|Interval)\s*\(\s*['"`]/],
    ['DOMParser / createContextualFragment', /DOMParser|createContextualFragment/],
  ])('never uses %s', (_name, pattern) => {
    expect(code).not.toMatch(pattern);
  });

  it('builds links from data only through encodeURIComponent', () => {
    for (const m of code.matchAll(/\.href\s*=\s*`([^`]*)`/g))
      for (const hole of m[1]!.matchAll(/\$\{([^}]*)\}/g))
        expect(hole[1]).toMatch(/^encodeURIComponent\(|^format$/);
  });
});
