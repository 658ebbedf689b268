// The start-up benchmark's JavaScript app: the /hello the peers also answer. Imports the package
// by name, as an installed app does (resolved to this checkout's dist/).
import { App } from 'skitai';

export const app = new App();
app.route('/hello', () => 'Hello World');
