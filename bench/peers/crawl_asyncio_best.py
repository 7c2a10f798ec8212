#!/usr/bin/env python3
"""A best-effort Python asyncio crawler: a peer of `weft crawl` in bench/crawl_bench.py.

One aiohttp.ClientSession whose TCPConnector keeps up to J connections alive, an
asyncio.Semaphore(J) over page and image requests, asyncio.gather, uvloop when it is importable.
Each page's images are scheduled as soon as that page arrives. A body is written in a worker
thread (asyncio.to_thread with a plain file write) or with aiofiles (--write aiofiles).

    crawl_asyncio_best.py [-j J] [--write thread|aiofiles] [--no-uvloop] DIR PAGE_URL...
"""
import argparse
import asyncio
import os
import re
from urllib.parse import urljoin

import aiohttp

IMG = re.compile(r'<img src="(/uploads/allimg/[^"]*)"')
HEADERS = {"User-Agent": "best-effort-asyncio-crawler"}


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


async def crawl(out_dir, page_urls, jobs, writer):
    os.makedirs(out_dir, exist_ok=True)
    semaphore = asyncio.Semaphore(jobs)
    connector = aiohttp.TCPConnector(limit=jobs, limit_per_host=jobs, ttl_dns_cache=300)
    if writer == "aiofiles":
        import aiofiles

        async def save(path, data):
            async with aiofiles.open(path, "wb") as f:
                await f.write(data)
    else:
        async def save(path, data):
            await asyncio.to_thread(write_file, path, data)

    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:
        async def image(url, referer):
            async with semaphore:
                async with session.get(url, headers={"Referer": referer}) as resp:
                    resp.raise_for_status()
                    data = await resp.read()
            await save(os.path.join(out_dir, url.rsplit("/", 1)[-1]), data)

        async def page(url):
            async with semaphore:
                async with session.get(url) as resp:
                    resp.raise_for_status()
                    html = (await resp.read()).decode("gbk", errors="replace")
            await asyncio.gather(*(image(urljoin(url, src), url) for src in dict.fromkeys(IMG.findall(html))))

        await asyncio.gather(*(page(url) for url in page_urls))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-j", type=int, default=32)
    ap.add_argument("--write", choices=("thread", "aiofiles"), default="thread")
    ap.add_argument("--no-uvloop", action="store_true")
    ap.add_argument("dir")
    ap.add_argument("pages", nargs="+")
    a = ap.parse_args()
    if not a.no_uvloop:
        try:
            import uvloop
            uvloop.install()
        except ImportError:
            pass
    asyncio.run(crawl(a.dir, a.pages, a.j, a.write))


if __name__ == "__main__":
    main()
