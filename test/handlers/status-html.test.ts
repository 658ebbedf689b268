import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusPage } from '../../src/handlers/status/html.js';

test('the HTML status page escapes every key and value', () => {
  const html = statusPage('s <1>', {
    '<k>': { a: '<script>alert(1)</script>', n: 3, none: null },
    list: [{ node: 'x"y', state: "o'k" }, { node: '&', extra: true }],
    plain: ['<b>', 2],
  });
  assert.ok(!html.includes('<script>'));
  assert.ok(!html.includes('<k>') && !html.includes('<b>') && !html.includes('<1>'));
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  assert.match(html, /<th>node<\/th><th>state<\/th><th>extra<\/th>/, 'a list of objects is one table with the union of keys');
  assert.match(html, /x&#34;y/);
  assert.match(html, /<em>none<\/em>/);
});
