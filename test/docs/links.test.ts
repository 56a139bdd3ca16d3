import assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(REPO, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => join(REPO, 'docs', f));
  return [join(REPO, 'README.md'), ...docs];
}

/**
 * The file's lines with fenced code blocks blanked (line numbers kept): the `# 1. train` comments
 * of a shell block are no headings, and a link written in code is not one.
 */
function proseLines(md: string): string[] {
  let fence: string | null = null;
  return md.split('\n').map((line) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker !== undefined && (fence === null || fence === marker)) {
      fence = fence === null ? marker : null;
      return '';
    }
    return fence === null ? line : '';
  });
}

/** Headings' text, inline markup dropped. */
function headings(md: string): string[] {
  return proseLines(md)
    .map((line) => /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1])
    .filter((h): h is string => h !== undefined)
    .map((h) => h.replace(/[`*_]/g, ''));
}

/** GitHub's anchors: lower case, punctuation dropped, each space a hyphen, a repeat numbered -1, -2, ... */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(md)) {
    const slug = h.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** Link targets outside code: `[text](target)`, `[label]: target` and `href="target"`, with their line. */
function links(md: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  // A link's text may run over lines, so match on the whole prose with inline code blanked.
  const lines = proseLines(md).map((l) => l.replace(/`[^`]*`/g, (c) => ' '.repeat(c.length)));
  const text = lines.join('\n');
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: lineOf(m.index), target: m[1] ?? '' });
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) out.push({ line: lineOf(m.index), target: m[1] ?? '' });
  for (const m of text.matchAll(/href="([^"]+)"/g)) out.push({ line: lineOf(m.index), target: m[1] ?? '' });
  return out;
}

test('every relative link and #anchor in README.md and docs/*.md names a file and a heading that exist', async () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of await markdownFiles()) {
    const md = await readFile(file, 'utf8');
    for (const { line, target } of links(md)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: are not checked offline
      checked++;
      const where = `${relative(REPO, file)}:${line}: ${target}`;
      const [path = '', anchor] = target.split('#');
      const linked = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      try {
        await access(linked);
      } catch {
        broken.push(`${where} (no file ${relative(REPO, linked)})`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!linked.endsWith('.md')) {
        broken.push(`${where} (an anchor into a file that is not Markdown)`);
        continue;
      }
      const known = anchors(await readFile(linked, 'utf8'));
      if (!known.has(decodeURIComponent(anchor))) broken.push(`${where} (no heading with that anchor in ${relative(REPO, linked)})`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 3, `only ${checked} relative links found: is the link pattern still right?`);
});

test('a section the README names in words ("see Troubleshooting", \'see Backends, "Which adapter"\') is one of its headings, and the quoted part one of its bold paragraph titles', async () => {
  const md = await readFile(join(REPO, 'README.md'), 'utf8');
  // A heading is named by its words up to a colon: "Security" for "Security: what a network client ...".
  const titles = headings(md).map((h) => h.split(':')[0] ?? h);
  const prose = proseLines(md).join('\n').replace(/\s+/g, ' ');
  const broken: string[] = [];
  let checked = 0;
  for (const m of prose.matchAll(/\b[Ss]ee ([A-Z][^]{0,80})/g)) {
    const after = m[1] ?? '';
    const title = titles.find((t) => after.startsWith(t) && !/[\p{L}\p{N}]/u.test(after.charAt(t.length)));
    checked++;
    if (title === undefined) {
      broken.push(`"see ${after.slice(0, 40)}...": no heading of that name`);
      continue;
    }
    const part = /^, "([^"]+)"/.exec(after.slice(title.length))?.[1];
    if (part !== undefined && !md.includes(`**${part}.**`) && !md.includes(`**${part}**`)) {
      broken.push(`"see ${title}, "${part}"": no paragraph titled **${part}.**`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 5, `only ${checked} "see Section" references found: is the pattern still right?`);
});
