"""PDF: an HTML page drawn by WeasyPrint, which may load no URL but the images it is given (never the network).

Fonts come from the system's fontconfig (Debian's fonts-noto-cjk for Chinese); WeasyPrint itself needs Debian's
libpango-1.0-0 and libpangoft2-1.0-0.
"""

import contextlib
import hashlib
import json
import os

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

IMAGE_DPI = 150      # images are embedded at print resolution for their size on the page, not as stored
JPEG_QUALITY = 85
KEEP = 1000          # rendered documents kept in the cache folder, the most recently used


def cached(folder, html, base_url, files, keep=KEEP):
    """from_html, kept in `folder` under the digest of everything the PDF is drawn from (the HTML, its base URL and
    the files it may load, which are named by their content): a document asked for again is read, not rendered
    (WeasyPrint takes about half a second of CPU, which repeated requests would take from the scans)."""
    drawn_from = [html, base_url, sorted((url, path, media_type) for url, (path, media_type) in files.items())]
    path = os.path.join(folder, hashlib.sha256(json.dumps(drawn_from).encode()).hexdigest() + ".pdf")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        pass
    else:
        with contextlib.suppress(FileNotFoundError):  # another worker may trim it right after it was read
            os.utime(path)  # recently used: trimmed last
        return data
    data = from_html(html, base_url, files)
    os.makedirs(folder, exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)  # whole or absent, whoever reads it meanwhile
    trim(folder, keep)
    return data


def trim(folder, keep):
    """Delete all but the `keep` most recently used documents of the cache folder."""
    with os.scandir(folder) as entries:
        found = sorted(((e.stat().st_mtime, e.path) for e in entries if e.name.endswith(".pdf")), reverse=True)
    for _, path in found[keep:]:
        with contextlib.suppress(FileNotFoundError):  # another worker trimmed it first
            os.unlink(path)


def from_html(html, base_url, files):
    """The PDF of an HTML text whose relative URLs resolve against `base_url`; `files` maps the only URLs it may
    load (absolute) to (path, media type)."""
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=FileFetcher(files)).write_pdf(
        dpi=IMAGE_DPI, jpeg_quality=JPEG_QUALITY)


class FileFetcher(URLFetcher):
    """A WeasyPrint fetcher that answers the given URLs from their files and refuses every other URL."""

    def __init__(self, files):
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.files = files

    def fetch(self, url, headers=None):
        """The file given for `url`; ValueError (WeasyPrint then leaves the image out) for any other URL."""
        if url not in self.files:
            raise ValueError(f"this document may load only its own files, not {url}")
        path, media_type = self.files[url]
        with open(path, "rb") as f:
            return URLFetcherResponse(url, f.read(), {"Content-Type": media_type})
