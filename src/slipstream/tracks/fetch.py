"""Download the official DeepRacer route files from their public repository (or a mirror).

The file list comes from the GitHub contents API when `base_url` is a raw.githubusercontent.com
folder, otherwise from the HTML directory listing at `base_url/` (what `python -m http.server`
or a plain web server serves). Each file is checked (a numeric (N, 6) array that
`Track.from_route` accepts) before it is moved into place, so a broken download never leaves a
half-written track behind. Only the standard library's urllib is used.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from slipstream.tracks.registry import TRACKS_ENV
from slipstream.tracks.track import Track, TrackError

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = (
    "https://raw.githubusercontent.com/aws-deepracer-community/deepracer-analysis/master/tracks"
)
DEFAULT_DEST = Path("~/.slipstream/tracks")
USER_AGENT = "slipstream-tracks-fetch"
MAX_FILE_BYTES = 16 * 1024 * 1024  # the largest official route file is ~20 KB

_RAW_GITHUB = re.compile(
    r"^https?://raw\.githubusercontent\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?P<ref>[^/]+)"
    r"(?:/(?P<path>.*?))?/?$"
)


class FetchError(ValueError):
    """Track files could not be listed, downloaded or validated."""


@dataclass(frozen=True)
class RemoteTrackFile:
    """One route file offered by the source."""

    name: str
    """File name, e.g. 'reInvent2019_track.npy'."""
    url: str
    size: int | None
    """Size in bytes when the listing gives it (GitHub does, directory listings do not)."""


# --------------------------------------------------------------------------- HTTP


def _open(url: str, timeout: float, method: str = "GET"):
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 403 and "api.github.com" in url:
            raise FetchError(
                f"GitHub refused {url} (HTTP 403, probably the API rate limit of 60 requests per "
                "hour); wait a while, or pass --base-url to a mirror that serves a directory listing"
            ) from exc
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"cannot reach {url} ({reason}). Check the network connection or proxy settings, "
            "or pass --base-url pointing to a mirror (e.g. a folder served with "
            "`python -m http.server`)."
        ) from exc


def _read(url: str, timeout: float, limit: int = MAX_FILE_BYTES) -> bytes:
    with _open(url, timeout) as response:
        data = response.read(limit + 1)
    if len(data) > limit:
        raise FetchError(f"{url} is larger than {limit} bytes; this is not a route file")
    return data


def _remote_size(url: str, timeout: float) -> int | None:
    try:
        with _open(url, timeout, method="HEAD") as response:
            value = response.headers.get("Content-Length")
    except FetchError:
        return None
    return int(value) if value and value.isdigit() else None


# --------------------------------------------------------------------------- listing


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            for key, value in attrs:
                if key.lower() == "href" and value:
                    self.links.append(value)


def github_contents_api_url(base_url: str) -> str | None:
    """The contents-API URL of a raw.githubusercontent.com folder URL, else None."""
    match = _RAW_GITHUB.match(base_url.strip())
    if not match:
        return None
    path = match.group("path") or ""
    query = urllib.parse.urlencode({"ref": match.group("ref")})
    return (
        f"https://api.github.com/repos/{match.group('owner')}/{match.group('repo')}"
        f"/contents/{path}?{query}"
    )


def parse_directory_listing(html: str, base_url: str) -> list[RemoteTrackFile]:
    """The *.npy files linked from an HTML directory listing, in listing order, no duplicates."""
    parser = _LinkCollector()
    parser.feed(html)
    folder = base_url.rstrip("/") + "/"
    seen: dict[str, RemoteTrackFile] = {}
    for href in parser.links:
        target = href.split("?", 1)[0].split("#", 1)[0]
        name = urllib.parse.unquote(target.rstrip("/").rsplit("/", 1)[-1])
        if not name.endswith(".npy") or name in seen:
            continue
        seen[name] = RemoteTrackFile(name, urllib.parse.urljoin(folder, target), None)
    return list(seen.values())


def list_remote_tracks(
    base_url: str = DEFAULT_BASE_URL, timeout: float = 30.0
) -> list[RemoteTrackFile]:
    """The route files offered at `base_url` (GitHub contents API or HTML directory listing)."""
    api = github_contents_api_url(base_url)
    if api is not None:
        try:
            entries = json.loads(_read(api, timeout).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(f"{api} did not return a JSON file list: {exc}") from exc
        if not isinstance(entries, list):
            raise FetchError(f"{api} is not a folder listing (got {type(entries).__name__})")
        folder = base_url.rstrip("/") + "/"
        files = [
            RemoteTrackFile(
                name=entry["name"],
                url=entry.get("download_url") or folder + urllib.parse.quote(entry["name"]),
                size=entry.get("size"),
            )
            for entry in entries
            if entry.get("type") == "file" and str(entry.get("name", "")).endswith(".npy")
        ]
    else:
        listing_url = base_url.rstrip("/") + "/"
        html = _read(listing_url, timeout).decode("utf-8", errors="replace")
        files = parse_directory_listing(html, base_url)
    if not files:
        raise FetchError(f"no .npy route files are listed at {base_url}")
    return files


# --------------------------------------------------------------------------- download


def validate_route_bytes(data: bytes, name: str) -> np.ndarray:
    """Parse a downloaded .npy and check it is a usable DeepRacer route; returns the array."""
    try:
        route = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FetchError(f"{name}: not a readable .npy file ({exc})") from exc
    if not isinstance(route, np.ndarray) or route.ndim != 2 or route.shape[1] != 6:
        shape = getattr(route, "shape", None)
        raise FetchError(f"{name}: expected a route array of shape (N, 6), got {shape}")
    if route.dtype.kind != "f":
        raise FetchError(f"{name}: expected floating-point coordinates, got dtype {route.dtype}")
    try:
        Track.from_route(route, name=Path(name).stem)
    except TrackError as exc:
        raise FetchError(f"{name}: {exc}") from exc
    return route


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _select(files: list[RemoteTrackFile], names: Iterable[str] | None) -> list[RemoteTrackFile]:
    if names is None:
        return files
    by_name = {f.name: f for f in files}
    wanted = [n if n.endswith(".npy") else f"{n}.npy" for n in names]
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise FetchError(
            f"not offered by the source: {', '.join(missing)} "
            f"(it lists {len(files)} files, e.g. {', '.join(sorted(by_name)[:5])})"
        )
    return [by_name[n] for n in dict.fromkeys(wanted)]


def fetch_official_tracks(
    dest: Path | str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    names: list[str] | None = None,
    *,
    force: bool = False,
    timeout: float = 30.0,
    progress: Callable[[str, str], None] | None = None,
) -> list[Path]:
    """Download route files into `dest` (default ~/.slipstream/tracks); return their paths.

    `names` limits the download to those tracks ('reInvent2019_track' or
    'reInvent2019_track.npy'); None takes every .npy the source lists. A file already in `dest`
    with the remote size is kept unless `force`. `progress(name, status)` is called per file
    with status 'downloaded' or 'up to date'. Raises FetchError when offline, when a name is
    unknown, or when a download is not a valid route.
    """
    folder = Path(dest if dest is not None else DEFAULT_DEST).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    selected = _select(list_remote_tracks(base_url, timeout), names)
    paths: list[Path] = []
    for remote in selected:
        if "/" in remote.name or remote.name.startswith("."):
            raise FetchError(f"refusing suspicious file name {remote.name!r} from {base_url}")
        path = folder / remote.name
        if path.is_file() and not force:
            size = remote.size if remote.size is not None else _remote_size(remote.url, timeout)
            if size is not None and size == path.stat().st_size:
                logger.debug("%s is up to date", path)
                paths.append(path)
                if progress is not None:
                    progress(remote.name, "up to date")
                continue
        data = _read(remote.url, timeout)
        if remote.size is not None and len(data) != remote.size:
            raise FetchError(
                f"{remote.name}: got {len(data)} bytes, the listing says {remote.size}; try again"
            )
        validate_route_bytes(data, remote.name)
        _write_atomically(path, data)
        logger.debug("downloaded %s -> %s", remote.url, path)
        paths.append(path)
        if progress is not None:
            progress(remote.name, "downloaded")
    return paths


def tracks_env_hint(dest: Path | str) -> str | None:
    """A line telling the user to add `dest` to SLIPSTREAM_TRACKS, or None if it is there."""
    folder = Path(dest).expanduser().resolve()
    current = [
        Path(p).expanduser().resolve()
        for p in os.environ.get(TRACKS_ENV, "").split(os.pathsep)
        if p
    ]
    if folder in current:
        return None
    return (
        f"To use these tracks by name, add the folder to {TRACKS_ENV}, e.g.\n"
        f'  export {TRACKS_ENV}="{folder}"'
    )
