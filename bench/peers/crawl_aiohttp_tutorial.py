#!/usr/bin/env python3
"""The tutorial's coroutine crawler (aiohttp + aiofiles): a peer of `weft crawl` in
bench/crawl_bench.py.

One task per gallery page; each page task fetches its page, decodes it as GBK, pulls the image
paths out with the tutorial's regex and gathers one download task per image. As the tutorial
writes it, every request opens its own aiohttp.ClientSession (so no connection is reused) and
files are written with aiofiles. The tutorial has no concurrency limit; `-j N` adds the
asyncio.Semaphore(N) around each download that its "limit the concurrency" variant shows
(0: unlimited, as in its first version).

    crawl_aiohttp_tutorial.py [-j N] DIR PAGE_URL...
"""
import asyncio
import os
import re
import sys

import aiofiles
import aiohttp

HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) tutorial-crawler"}


async def download(img_url, referer, path, semaphore):
    async with semaphore:
        async with aiohttp.ClientSession() as session:
            async with session.get(img_url, headers={**HEADERS, "Referer": referer}, verify_ssl=False) as resp:
                data = await resp.read()
        async with aiofiles.open(path, "wb") as f:
            await f.write(data)


async def parse_page(page_url, out_dir, semaphore):
    async with aiohttp.ClientSession() as session:
        async with session.get(page_url, headers=HEADERS, verify_ssl=False) as resp:
            html = await resp.text(encoding="gbk")
    srcs = re.findall(r'<img src="(/uploads/allimg/.*?)"', html)
    site = page_url.split("/", 3)
    root = site[0] + "//" + site[2]
    tasks = [asyncio.create_task(download(root + src, page_url, os.path.join(out_dir, src.split("/")[-1]), semaphore))
             for src in srcs]
    await asyncio.gather(*tasks)


async def main(out_dir, page_urls, jobs):
    os.makedirs(out_dir, exist_ok=True)
    semaphore = asyncio.Semaphore(jobs) if jobs > 0 else asyncio.Semaphore(1 << 30)
    tasks = [asyncio.create_task(parse_page(url, out_dir, semaphore)) for url in page_urls]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    args = sys.argv[1:]
    jobs = 0
    if args[:1] == ["-j"]:
        jobs = int(args[1])
        args = args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    asyncio.run(main(args[0], args[1:], jobs))
