#!/usr/bin/env python3
"""The uppercase server on asyncio streams (optionally on uvloop): a peer of
`weft serve upper --mode async` in bench/net_upper.sh.

    upper_asyncio.py PORT [--uvloop]     (0: any free port)
"""
import asyncio
import signal
import sys

QUIT = (b"quit", b"quit\n", b"quit\r\n")


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(1024)
            if not data or data in QUIT:
                break
            writer.write(data.upper())  # bytes.upper() changes ASCII letters only
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main(port, flavour):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"Server started at 127.0.0.1:{bound} ({flavour})", file=sys.stderr, flush=True)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with server:
        await stop


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8899
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
        asyncio.run(main(port, "asyncio+uvloop"))
    else:
        asyncio.run(main(port, "asyncio"))
