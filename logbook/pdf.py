"""PDF: an HTML page drawn by WeasyPrint, which may load no URL but the images it is given (never the network).

Fonts come from the system's fontconfig (Debian's fonts-noto-cjk for Chinese); WeasyPrint itself needs Debian's
libpango-1.0-0 and libpangoft2-1.0-0.
"""

import weasyprint
from weasyprint.urls import URLFetcher, URLFetcherResponse

IMAGE_DPI = 150      # images are embedded at print resolution for their size on the page, not as stored
JPEG_QUALITY = 85


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
