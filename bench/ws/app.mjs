// The Skitai side of bench/ws.mjs: one WebSocket route echoing every message, as the bare peer does.
import { App } from 'skitai';

export const app = new App();

app.websocket('/echo', {
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
});
