# A real third-party WebSocket client for test/ws/lifecycle.test.ts: Python's `websockets`.
import asyncio
import sys

# `websockets.connect`: the same call in Debian bookworm's 10.x and in current releases.
from websockets import connect
from websockets.exceptions import ConnectionClosed

BASE = sys.argv[1]


async def main():
    async with connect(BASE + "/echo", max_size=None) as ws:
        await ws.send("héllo")
        print("text", await ws.recv())
        await ws.send(bytes([0, 255, 16]))
        print("binary", (await ws.recv()).hex())
        # An iterable is sent as one fragmented message.
        await ws.send(["abc", "def"])
        print("fragmented", await ws.recv())
        pong = await ws.ping()
        await asyncio.wait_for(pong, 10)
        print("pong ok")
    # Connections the server closes are not left through `async with`, whose exit would close again.
    ws = await connect(BASE + "/echo", max_size=None)
    try:
        await ws.send(b"\0" * (16 * 1024 * 1024))
        await ws.recv()
    except ConnectionClosed as e:
        print("large closed", e.rcvd.code if e.rcvd else None)
    ws = await connect(BASE + "/closer")
    await ws.send("2")
    try:
        await ws.recv()
    except ConnectionClosed as e:
        print("closer closed", e.rcvd.code, e.rcvd.reason)


asyncio.run(main())
