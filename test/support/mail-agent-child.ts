// A delivery agent in its own process, for crash tests: `node --import tsx mail-agent-child.ts <mail root> <smtp port>`.
import { Logger } from '../../src/log/logger.js';
import { MailAgent } from '../../src/mail/agent.js';
import { smtpdaOptions } from './smtp.js';

const [root, port] = process.argv.slice(2);
const logger = new Logger({ write: (l) => void process.stdout.write(`${l}\n`), reopen() {}, async close() {} }, true);
const agent = new MailAgent({ root: root!, options: smtpdaOptions(Number(port)), logger });
await agent.start();
process.stdout.write('agent started\n');
process.on('SIGTERM', () => void agent.stop(100).then(() => process.exit(0)));
