#!/usr/bin/env python3
"""mockhub.py - a Hugging Face Hub and its CDN on two loopback ports, for the
download tests (python3 standard library only, docs/hub.md section 6).

    mockhub.py --root DIR --state FILE --log FILE [--scenario FILE]
               [--page-size N] [--parent PID] [--lifetime SECONDS]

DIR/repos.json describes the repos (written by mkfixtures.py):

    {"tokens": {"hf_good": ["*"], "hf_other": []},
     "repos": {"model/org/name": {
         "private": false, "gated": false,
         "refs": {"main": "<40 hex>", "refs/pr/1": "<40 hex>"},
         "commits": {"<40 hex>": "folder under DIR"},
         "lfs": ["*.bin", "*.pth"],            globs of the files kept in LFS
         "sizes": {"huge.bin": 10000000000000}  sizes to claim, not serve
     }}}

Ports: both bound on 127.0.0.1 port 0; "HUB_PORT=a CDN_PORT=b" goes to the
state file once they listen.  The process exits when --parent dies, after
--lifetime seconds, or on SIGTERM.

Hub (port a):
  GET  /api/{models,datasets,spaces}/{repo}[/revision/{rev}]     repo info
  GET  /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=...     paginated
  HEAD|GET /[datasets/|spaces/]{repo}/resolve/{rev}/{path}
       plain files: 200, ETag "<git blob sha1>", Range on GET
       LFS files:   302 to the CDN, X-Linked-Etag "<sha256>", X-Linked-Size
  GET  /api/resolve-cache/{type}s/{repo}/{commit}/{path}         (307 target)
  errors with the Hub's headers: RepoNotFound (401), EntryNotFound (404,
  with X-Repo-Commit), RevisionNotFound (404), GatedRepo (401/403), and 401
  "Invalid credentials in Authorization header" for an unknown token.
CDN (port b):
  GET /cdn/{sha256}?Expires=t&Signature=s   Range (206), 416 past the end;
  HEAD is 403 (signed for GET); an expired URL is 403; a request carrying
  Authorization is refused with 400 and logged as AUTH-LEAK.

Faults come from --scenario FILE, a JSON list re-read whenever the file
changes (counters restart then).  Each fault:
    {"kind": K, "where": "hub"|"cdn"|"api"|"resolve"|"any", "path": "substr",
     "method": "GET", "skip": 0, "count": 1, ...}
kinds: "status" (code, retry_after, ratelimit), "drop" (bytes: close after
that many body bytes), "stall" (bytes, seconds), "ignore_range" (200 with
the whole body), "wrong_bytes" (one byte flipped), "bad_range" (a 206 from
another offset), "no_commit" (no X-Repo-Commit), "expired" (hand out CDN
URLs that already expired), "relative_redirect" (plain files answer 307 to
/api/resolve-cache/...).

Every request is logged as one line:
    srv=cdn method=GET path=/cdn/... range=bytes=5- auth=0 ae=- status=206 ua=...
"""
import argparse
import fnmatch
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = b"mock-cdn-secret"


class Repos:
    """The repos of repos.json, with sizes and hashes computed once."""

    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, "repos.json")) as f:
            conf = json.load(f)
        self.tokens = conf.get("tokens", {})
        self.repos = conf["repos"]
        self.files = {}     # (repo key, commit) -> {path: info}
        self.by_sha = {}    # sha256 -> absolute path (for the CDN)
        for key, repo in self.repos.items():
            for commit, folder in repo["commits"].items():
                self.files[(key, commit)] = self._scan(repo, folder)

    def _scan(self, repo, folder):
        base = os.path.join(self.root, folder)
        out = {}
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, base).replace(os.sep, "/")
                out[rel] = self._info(repo, rel, full)
        return out

    def _info(self, repo, rel, full):
        size = os.path.getsize(full)
        lfs = any(fnmatch.fnmatchcase(rel, g) for g in repo.get("lfs", []))
        claimed = repo.get("sizes", {}).get(rel)
        info = {"full": full, "size": claimed or size, "lfs": lfs}
        if lfs:
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            sha = h.hexdigest()
            pointer = ("version https://git-lfs.github.com/spec/v1\n"
                       "oid sha256:%s\nsize %d\n" % (sha, info["size"])).encode()
            info["sha256"] = sha
            info["pointer_size"] = len(pointer)
            info["oid"] = git_sha1(pointer)
            self.by_sha[sha] = info
        else:
            with open(full, "rb") as f:
                info["oid"] = git_sha1(f.read())
        return info

    def find(self, type_, parts):
        """The repo key for the leading path parts: (key, rest) or None."""
        for n in (2, 1):
            if len(parts) >= n:
                key = "%s/%s" % (type_, "/".join(parts[:n]))
                if key in self.repos:
                    return key, parts[n:]
        return None

    def commit(self, key, rev):
        repo = self.repos[key]
        if rev in repo["commits"]:
            return rev
        return repo["refs"].get(rev)


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class State:
    def __init__(self, args):
        self.args = args
        self.repos = Repos(args.root)
        self.lock = threading.Lock()
        self.faults = []
        self.scen_stamp = None
        self.hub_port = 0
        self.cdn_port = 0

    def log(self, line):
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")

    def reload(self):
        path = self.args.scenario
        if not path:
            return
        try:
            st = os.stat(path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self.scen_stamp:
            return
        self.scen_stamp = stamp
        faults = []
        if stamp:
            with open(path) as f:
                text = f.read().strip()
            faults = json.loads(text) if text else []
        for fl in faults:
            fl.setdefault("skip", 0)
            fl.setdefault("count", 1)
            fl.setdefault("where", "any")
        self.faults = faults

    def fault(self, srv, kind_of_req, method, path, kinds):
        """The first fault of one of `kinds` that applies now, consumed."""
        with self.lock:
            self.reload()
            for fl in self.faults:
                if fl["kind"] not in kinds:
                    continue
                w = fl["where"]
                if w not in ("any", srv, kind_of_req):
                    continue
                if fl.get("method") and fl["method"] != method:
                    continue
                if fl.get("path") and fl["path"] not in path:
                    continue
                if fl["count"] == 0:
                    continue
                if fl["skip"] > 0:
                    fl["skip"] -= 1
                    continue
                if fl["count"] > 0:
                    fl["count"] -= 1
                return fl
        return None


def sign(sha, expires):
    return hashlib.sha1(SECRET + sha.encode() + str(expires).encode()).hexdigest()[:16]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mockhub/1"

    def log_message(self, fmt, *args):
        pass

    # ------------------------------------------------------------ plumbing

    @property
    def st(self):
        return self.server.state

    def setup(self):
        super().setup()
        self.status_sent = 0

    def send_response(self, code, message=None):
        self.status_sent = code
        super().send_response(code, message)

    def finish_log(self):
        h = self.headers
        self.st.log("srv=%s method=%s path=%s range=%s auth=%d ae=%s status=%s ua=%s" % (
            self.server.name, self.command, self.path, h.get("Range", "-"),
            1 if h.get("Authorization") else 0, h.get("Accept-Encoding", "-"),
            self.status_sent, h.get("User-Agent", "-")))

    def reply(self, code, body=b"", headers=None, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, error_code=None, message=None, extra=None):
        h = dict(extra or {})
        if error_code:
            h["X-Error-Code"] = error_code
        if message:
            h["X-Error-Message"] = message
        h["X-Request-Id"] = "Root=mock-%d" % int(time.time() * 1000)
        self.reply(code, json.dumps({"error": message or error_code or str(code)}),
                   h, "application/json")

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        try:
            if self.server.name == "hub":
                self.hub()
            else:
                self.cdn()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.finish_log()

    # ------------------------------------------------------------ faults

    def status_fault(self, kind_of_req, path):
        fl = self.st.fault(self.server.name, kind_of_req, self.command, path,
                           ("status",))
        if not fl:
            return False
        h = {}
        if "retry_after" in fl:
            h["Retry-After"] = str(fl["retry_after"])
        if "ratelimit" in fl:
            h["RateLimit"] = fl["ratelimit"]
            h["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
        self.error(fl["code"], fl.get("error_code"), fl.get("message"), h)
        return True

    # ------------------------------------------------------------ the body

    def send_file(self, info, headers, kind_of_req, path):
        """200 or 206 with Range, through the body faults."""
        size = os.path.getsize(info["full"])
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        f_ignore = self.st.fault(self.server.name, kind_of_req, self.command,
                                 path, ("ignore_range",)) if rng else None
        partial = False
        if rng and not f_ignore:
            try:
                unit, spec = rng.split("=", 1)
                a, b = spec.split("-", 1)
                start = int(a)
                end = int(b) if b else size - 1
            except ValueError:
                return self.error(400, message="bad Range")
            if unit != "bytes" or start >= size:
                return self.reply(416, "", {"Content-Range": "bytes */%d" % size})
            end = min(end, size - 1)
            partial = True
        f_bad = self.st.fault(self.server.name, kind_of_req, self.command, path,
                              ("bad_range",)) if partial else None
        count = end - start + 1
        self.send_response(206 if partial else 200)
        for k, v in headers.items():
            self.send_header(k, v)
        if partial:
            shown = start + 1 if f_bad else start
            self.send_header("Content-Range", "bytes %d-%d/%d" % (shown, end, size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(count))
        self.end_headers()
        if self.command == "HEAD":
            return
        body_faults = ("drop", "stall", "wrong_bytes")
        fl = self.st.fault(self.server.name, kind_of_req, self.command, path,
                           body_faults)
        with open(info["full"], "rb") as f:
            if not fl:
                self.wfile.flush()
                self.connection.sendfile(f, start, count)
                return
            f.seek(start)
            data = f.read(count)
        if fl["kind"] == "wrong_bytes":
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0xff]) + data[i + 1:]
            self.wfile.write(data)
            return
        cut = min(fl.get("bytes", 0), len(data))
        self.wfile.write(data[:cut])
        self.wfile.flush()
        if fl["kind"] == "stall":
            deadline = time.time() + fl.get("seconds", 30)
            while time.time() < deadline:
                time.sleep(0.05)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------ the CDN

    def cdn(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if self.headers.get("Authorization"):
            self.st.log("AUTH-LEAK %s" % self.path)
            return self.error(400, message="Authorization header sent to the CDN")
        if self.status_fault("cdn", u.path):
            return
        if self.command == "HEAD":
            return self.error(403, message="signed for GET")
        parts = u.path.split("/")
        if len(parts) != 3 or parts[1] != "cdn" or parts[2] not in self.st.repos.by_sha:
            return self.error(404, message="no such object")
        sha = parts[2]
        try:
            expires = int(q["Expires"][0])
            sig = q["Signature"][0]
        except (KeyError, ValueError):
            return self.error(403, message="unsigned")
        if sig != sign(sha, expires):
            return self.error(403, message="bad signature")
        if time.time() > expires:
            return self.error(403, message="Request has expired")
        info = self.st.repos.by_sha[sha]
        self.send_file(info, {"ETag": '"%s"' % sha}, "cdn", u.path)

    # ------------------------------------------------------------ the Hub

    def token(self):
        """(ok, token): ok False when a token was sent but is unknown."""
        a = self.headers.get("Authorization")
        if not a:
            return True, None
        t = a[7:] if a.startswith("Bearer ") else a
        return t in self.st.repos.tokens, t

    def may_read(self, key, tok, gated_check):
        repo = self.st.repos.repos[key]
        grants = self.st.repos.tokens.get(tok, []) if tok else []
        allowed = "*" in grants or key.split("/", 1)[1] in grants
        if repo.get("private") and not allowed:
            return "hidden"
        if gated_check and repo.get("gated") and not allowed:
            return "gated"
        return "ok"

    def not_found_repo(self, tok):
        self.error(404 if tok else 401, "RepoNotFound",
                   "Repository Not Found for url: %s." % self.path)

    def hub(self):
        u = urllib.parse.urlsplit(self.path)
        raw_parts = [p for p in u.path.split("/") if p]
        parts = [urllib.parse.unquote(p) for p in raw_parts]
        ok, tok = self.token()
        kind = "api" if parts[:1] == ["api"] else "resolve"
        if self.status_fault(kind, urllib.parse.unquote(u.path)):
            return
        if not ok:
            return self.error(401, message="Invalid credentials in Authorization header")
        if parts[:2] == ["api", "resolve-cache"]:
            return self.resolve_cache(parts[2:], tok)
        if parts[:1] == ["api"] and len(parts) >= 3 and parts[1] in ("models", "datasets", "spaces"):
            return self.api(parts[1][:-1], raw_parts[2:], u, tok)
        type_ = "model"
        if parts and parts[0] in ("datasets", "spaces"):
            type_ = parts[0][:-1]
            raw_parts = raw_parts[1:]
        if "resolve" not in parts:
            return self.error(404, message="not found")
        i = [urllib.parse.unquote(p) for p in raw_parts].index("resolve")
        repo_parts = [urllib.parse.unquote(p) for p in raw_parts[:i]]
        rest = raw_parts[i + 1:]
        found = self.st.repos.find(type_, repo_parts)
        if not found or found[1]:
            return self.not_found_repo(tok)
        key = found[0]
        if self.may_read(key, tok, True) == "hidden":
            return self.not_found_repo(tok)
        if not rest:
            return self.error(404, message="no revision")
        rev = urllib.parse.unquote(rest[0])
        path = urllib.parse.unquote("/".join(rest[1:]))
        commit = self.st.repos.commit(key, rev)
        if not commit:
            return self.error(404, "RevisionNotFound",
                              "Invalid rev id: %s" % rev)
        access = self.may_read(key, tok, True)
        if access == "gated":
            return self.error(403 if tok else 401, "GatedRepo",
                              "Access to model %s is restricted." % key.split("/", 1)[1])
        files = self.st.repos.files[(key, commit)]
        info = files.get(path)
        h = {}
        if not self.st.fault("hub", "resolve", self.command, path, ("no_commit",)):
            h["X-Repo-Commit"] = commit
        if info is None:
            return self.error(404, "EntryNotFound",
                              "%s does not exist on \"%s\"" % (path, rev), h)
        if info["lfs"]:
            expires = int(time.time()) + 3600
            if self.st.fault("hub", "resolve", self.command, path, ("expired",)):
                expires = int(time.time()) - 10
            sha = info["sha256"]
            loc = "http://127.0.0.1:%d/cdn/%s?Expires=%d&Signature=%s" % (
                self.st.cdn_port, sha, expires, sign(sha, expires))
            h.update({"Location": loc, "X-Linked-Etag": '"%s"' % sha,
                      "X-Linked-Size": str(info["size"]),
                      "ETag": '"%s"' % info["oid"]})
            body = "Found. Redirecting to %s" % loc
            return self.reply(302, body, h)
        if self.st.fault("hub", "resolve", self.command, path, ("relative_redirect",)):
            h["Location"] = "/api/resolve-cache/%ss/%s/%s/%s?etag=%%22%s%%22" % (
                type_, key.split("/", 1)[1], commit, urllib.parse.quote(path),
                info["oid"])
            return self.reply(307, "Temporary Redirect", h)
        h["ETag"] = '"%s"' % info["oid"]
        self.send_file(info, h, "resolve", path)

    def resolve_cache(self, parts, tok):
        # /api/resolve-cache/{type}s/{org}/{name}/{commit}/{path}
        if len(parts) < 4 or parts[0] not in ("models", "datasets", "spaces"):
            return self.error(404, message="not found")
        type_ = parts[0][:-1]
        found = self.st.repos.find(type_, parts[1:])
        if not found or not found[1]:
            return self.not_found_repo(tok)
        key, rest = found
        commit, path = rest[0], "/".join(rest[1:])
        files = self.st.repos.files.get((key, commit), {})
        info = files.get(path)
        if info is None:
            return self.error(404, "EntryNotFound", "not found")
        access = self.may_read(key, tok, True)
        if access != "ok":
            return self.error(401, "GatedRepo" if access == "gated" else "RepoNotFound")
        self.send_file(info, {"ETag": '"%s"' % info["oid"], "X-Repo-Commit": commit},
                       "resolve", path)

    def api(self, type_, raw, u, tok):
        parts = [urllib.parse.unquote(p) for p in raw]
        # The repo id is the parts before "revision" / "tree" (1 or 2 parts).
        n = 2 if len(parts) >= 2 and "%s/%s" % (type_, "/".join(parts[:2])) in self.st.repos.repos else 1
        key = "%s/%s" % (type_, "/".join(parts[:n]))
        rest = raw[n:]
        if key not in self.st.repos.repos or self.may_read(key, tok, False) == "hidden":
            return self.not_found_repo(tok)
        repo = self.st.repos.repos[key]
        q = urllib.parse.parse_qs(u.query)
        if not rest or rest[0] == "revision":
            rev = urllib.parse.unquote(rest[1]) if len(rest) > 1 else "main"
            commit = self.st.repos.commit(key, rev)
            if not commit:
                return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
            files = self.st.repos.files[(key, commit)]
            info = {"_id": "mock", "id": key.split("/", 1)[1], "sha": commit,
                    "private": bool(repo.get("private")),
                    "gated": repo.get("gated") or False,
                    "lastModified": "2025-01-01T00:00:00.000Z",
                    "siblings": [{"rfilename": p} for p in sorted(files)]}
            if q.get("blobs") == ["true"]:
                for s in info["siblings"]:
                    fi = files[s["rfilename"]]
                    s["size"] = fi["size"]
                    s["blobId"] = fi["oid"]
                    if fi["lfs"]:
                        s["lfs"] = {"sha256": fi["sha256"], "size": fi["size"],
                                    "pointerSize": fi["pointer_size"]}
            return self.reply(200, json.dumps(info), ctype="application/json")
        if rest[0] != "tree" or len(rest) < 2:
            return self.error(404, message="not found")
        rev = urllib.parse.unquote(rest[1])
        sub = urllib.parse.unquote("/".join(rest[2:]))
        commit = self.st.repos.commit(key, rev)
        if not commit:
            return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        files = self.st.repos.files[(key, commit)]
        recursive = q.get("recursive", ["false"])[0].lower() == "true"
        entries = tree_entries(files, sub, recursive)
        if sub and not entries:
            return self.error(404, "EntryNotFound", "%s does not exist" % sub)
        cursor = int(q.get("cursor", ["0"])[0])
        page = self.st.args.page_size
        body = entries[cursor:cursor + page]
        h = {}
        if cursor + page < len(entries):
            nq = dict((k, v[0]) for k, v in q.items())
            nq["cursor"] = str(cursor + page)
            h["Link"] = '<http://127.0.0.1:%d%s?%s>; rel="next"' % (
                self.st.hub_port, u.path, urllib.parse.urlencode(nq))
        self.reply(200, json.dumps(body), h, "application/json")


def tree_entries(files, sub, recursive):
    prefix = sub + "/" if sub else ""
    dirs, out = set(), []
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix):]
        segs = rest.split("/")
        for k in range(1, len(segs)):
            d = prefix + "/".join(segs[:k])
            if (recursive or k == 1) and d not in dirs:
                dirs.add(d)
                out.append({"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(),
                            "size": 0, "path": d})
        if not recursive and len(segs) > 1:
            continue
        fi = files[path]
        e = {"type": "file", "oid": fi["oid"], "size": fi["size"], "path": path}
        if fi["lfs"]:
            e["lfs"] = {"oid": fi["sha256"], "size": fi["size"],
                        "pointerSize": fi["pointer_size"]}
        out.append(e)
    return out


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--scenario")
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--parent", type=int)
    ap.add_argument("--lifetime", type=float, default=900)
    args = ap.parse_args()

    state = State(args)
    servers = []
    for name in ("hub", "cdn"):
        s = Server(("127.0.0.1", 0), Handler)
        s.name = name
        s.state = state
        servers.append(s)
    state.hub_port = servers[0].server_address[1]
    state.cdn_port = servers[1].server_address[1]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = args.state + ".tmp"
    with open(tmp, "w") as f:
        f.write("HUB_PORT=%d CDN_PORT=%d\n" % (state.hub_port, state.cdn_port))
    os.rename(tmp, args.state)

    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    start = time.time()
    while time.time() - start < args.lifetime:
        if args.parent:
            try:
                os.kill(args.parent, 0)
            except OSError:
                break
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
