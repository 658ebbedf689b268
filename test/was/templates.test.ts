import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Templates } from '../../src/was/templates.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-tpl-'));
const dir = path.join(root, 'templates');
fs.mkdirSync(dir);
fs.writeFileSync(path.join(root, 'secret.html'), 'TOP SECRET');
// A sibling whose name starts with the template directory's: nunjucks' own check is a string prefix.
fs.mkdirSync(path.join(root, 'templates-private'));
fs.writeFileSync(path.join(root, 'templates-private', 'keys.html'), 'PRIVATE KEYS');
fs.writeFileSync(path.join(dir, 'leak.html'), '{% include "../templates-private/keys.html" %}');
fs.writeFileSync(path.join(dir, 'base.html'), '<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}');
fs.writeFileSync(path.join(dir, 'page.html'), '{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}{% block body %}<p>{{ text }}</p>{{ html | safe }}{% endblock %}');
fs.writeFileSync(path.join(dir, 'broken.html'), 'line one\n{% if x %}\n{{ x }');
fs.writeFileSync(path.join(dir, 'includes.html'), '{% include "nowhere.html" %}');
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('Templates (was.render)', () => {
  test('Jinja2 syntax with inheritance; autoescape on, | safe opts out', () => {
    const t = new Templates(dir, false);
    const html = t.render('page.html', { title: 'A & B', text: '<script>alert(1)</script>', html: '<b>ok</b>' });
    assert.equal(html, '<title>A &amp; B</title><p>&lt;script&gt;alert(1)&lt;/script&gt;</p><b>ok</b>');
  });

  test('a missing template is SKT_TEMPLATE_NOT_FOUND, also through an include', () => {
    const t = new Templates(dir, false);
    assert.throws(() => t.render('missing.html', {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SKT_TEMPLATE_NOT_FOUND');
      assert.match(err.message, /"missing\.html" was not found in .*templates/);
      return true;
    });
    assert.throws(() => t.render('includes.html', {}), { code: 'SKT_TEMPLATE_NOT_FOUND' });
  });

  test('a name leaving the directory reads as not found', () => {
    const t = new Templates(dir, false);
    assert.throws(() => t.render('../secret.html', {}), { code: 'SKT_TEMPLATE_NOT_FOUND' });
    assert.throws(() => t.render(path.join(root, 'secret.html'), {}), { code: 'SKT_TEMPLATE_NOT_FOUND' });
    assert.throws(() => t.render('../templates-private/keys.html', {}), { code: 'SKT_TEMPLATE_NOT_FOUND' });
    assert.throws(() => t.render('leak.html', {}), { code: 'SKT_TEMPLATE_NOT_FOUND' }, 'nor through an include');
    assert.throws(() => new Templates(dir, true).render('../templates-private/keys.html', {}), { code: 'SKT_TEMPLATE_NOT_FOUND' });
  });

  test('a syntax error is SKT_TEMPLATE_RENDER naming the line', () => {
    const t = new Templates(dir, false);
    assert.throws(() => t.render('broken.html', {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SKT_TEMPLATE_RENDER');
      assert.match(err.message, /broken\.html.*Line 3/);
      return true;
    });
  });

  test('cached outside devel mode, re-read on every render in devel mode', () => {
    const file = path.join(dir, 'live.html');
    fs.writeFileSync(file, 'v1');
    const cached = new Templates(dir, false);
    const devel = new Templates(dir, true);
    assert.equal(cached.render('live.html', {}), 'v1');
    assert.equal(devel.render('live.html', {}), 'v1');
    fs.writeFileSync(file, 'v2');
    assert.equal(cached.render('live.html', {}), 'v1');
    assert.equal(devel.render('live.html', {}), 'v2');
  });
});
