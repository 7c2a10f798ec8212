#!/usr/bin/env python3
"""The tutorial's synchronous crawler (requests): a peer of `weft crawl` in bench/crawl_bench.py.

For each gallery page: GET it, decode it as GBK, pull the image paths out with the tutorial's
regex, then download every image one after another (the page as Referer) and write it to DIR.
Like the tutorial it calls requests.get() for every request (no Session: a new connection each
time) and has no retries.

    crawl_requests.py DIR PAGE_URL...
"""
import os
import re
import sys

import requests

HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) tutorial-crawler"}


def main(out_dir, page_urls):
    os.makedirs(out_dir, exist_ok=True)
    for page_url in page_urls:
        r = requests.get(page_url, headers=HEADERS)
        r.encoding = "gbk"
        srcs = re.findall(r'<img src="(/uploads/allimg/.*?)"', r.text)
        site = page_url.split("/", 3)
        root = site[0] + "//" + site[2]
        for src in srcs:
            img_url = root + src
            data = requests.get(img_url, headers={**HEADERS, "Referer": page_url}).content
            name = src.split("/")[-1]
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
