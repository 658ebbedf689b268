// Prints docs/errors.md from the registry: node --import tsx scripts/errors-doc.mjs > docs/errors.md
const { ERRORS } = await import('../src/errors.ts');
let out = `# Error codes

Every error Skitai raises on purpose is a \`SkitaiError\` with a stable \`code\` (assert on the code,
not the message) and the HTTP \`status\` a client sees when the error reaches the engine. The registry
is \`src/errors.ts\`; \`test/errors.test.ts\` keeps this page in step with it.

Config errors name the file, the line, the section and the key (\`site.conf:line 12 [server] port: …\`).
Secrets are never quoted in a message. A status of 500 means the error is a server-side problem: the
client sees a plain 500 page (with the stack only in devel mode: \`[server] devel\`, or \`app.devel\`
for that app's requests; config secrets and URL credentials blanked even then) and the log has the details.

| code | HTTP status | meaning |
| --- | --- | --- |
`;
for (const [code, { status, text }] of Object.entries(ERRORS)) out += `| \`${code}\` | ${status} | ${text} |\n`;
process.stdout.write(out);
