"""Publishes fixture plugins into a folder that `python3 -m http.server` serves as an npm registry on
loopback, for the contract check (scripts/api-contract.sh): package documents at /<name>, tarballs under
/-/, each version's integrity the sha512 of its tarball, as a registry gives them.

    api-contract-registry.py FOLDER URL FIXTURE[@VERSION]...
    api-contract-registry.py --serve FOLDER FIXTURE[@VERSION]...

FIXTURE is a package folder; @VERSION publishes it under that version instead of its own. As npm does, the
document records when each version was published (`time`) and carries the README of the folder's
README.md (`readme`), if it has one. With --serve it
also serves the folder itself, on a free port of 127.0.0.1, and prints `serving URL` once the fixtures are
published (scripts/browser-tests.sh waits for that line); it serves until it is ended.
"""

import base64
import datetime
import hashlib
import http.server
import io
import json
import os
import sys
import tarfile


def tarball(folder, manifest):
    """The package as `npm pack` lays it out: every file under `package/`."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                path = os.path.join(root, name)
                inside = "package/" + os.path.relpath(path, folder)
                data = open(path, "rb").read()
                if inside == "package/package.json":
                    data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(inside)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def publish(registry, url, spec):
    folder, _, version = spec.partition("@")
    manifest = json.load(open(os.path.join(folder, "package.json")))
    if version:
        manifest["version"] = version
    name, version = manifest["name"], manifest["version"]
    data = tarball(folder, manifest)
    file = f"-/{name.replace('/', '__')}-{version}.tgz"
    os.makedirs(os.path.join(registry, "-"), exist_ok=True)
    open(os.path.join(registry, file), "wb").write(data)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    # The document at /<name>: http.server decodes a scoped name's %2F into a folder of the scope.
    path = os.path.join(registry, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    document = json.load(open(path)) if os.path.exists(path) else {
        "name": name, "dist-tags": {}, "versions": {}, "time": {}}
    document["versions"][version] = {**manifest, "dist": {"tarball": url + file, "integrity": integrity}}
    document["dist-tags"]["latest"] = version
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document.setdefault("time", {}).setdefault("created", now)
    document["time"][version] = now
    document["time"]["modified"] = now
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        document["readme"] = open(readme, encoding="utf-8").read()
        document["readmeFilename"] = "README.md"
    json.dump(document, open(path, "w"))
    print(f"published {name}@{version}")


def serve(registry, specs):
    """Serves the folder as `python3 -m http.server` does (a scoped name's %2F read as a folder), quietly."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=registry, **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_port}/"
    for spec in specs:
        publish(registry, url, spec)
    print(f"serving {url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        registry, *specs = sys.argv[2:]
        os.makedirs(registry, exist_ok=True)
        serve(registry, specs)
    else:
        registry, url, *specs = sys.argv[1:]
        for spec in specs:
            publish(registry, url, spec)
