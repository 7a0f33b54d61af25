#!/usr/bin/env python3
"""extract_user_data.py CLOUD_CONFIG OUTDIR — check a rendered cloud-config
is a #cloud-config YAML mapping with write_files and runcmd, and write every
write_files entry to OUTDIR (its path flattened: /usr/local/sbin/x →
OUTDIR/usr_local_sbin_x), listing "kind path file" lines on stdout, kind
being shell (a #!/bin/bash file), env (bootstrap.env), unit or other."""
import os
import sys

import yaml

src, out = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
if not text.startswith("#cloud-config\n"):
    sys.exit(f"{src}: does not start with #cloud-config")
doc = yaml.safe_load(text)
if not isinstance(doc, dict):
    sys.exit(f"{src}: not a YAML mapping")
for key in ("write_files", "runcmd"):
    if key not in doc:
        sys.exit(f"{src}: no {key}")
os.makedirs(out, exist_ok=True)
for f in doc["write_files"]:
    path, content = f["path"], f.get("content", "")
    if not isinstance(f.get("permissions"), str):
        sys.exit(f"{src}: {path}: permissions must be a quoted string")
    name = os.path.join(out, path.strip("/").replace("/", "_"))
    with open(name, "w", encoding="utf-8") as fh:
        fh.write(content)
    if content.startswith("#!/bin/bash"):
        kind = "shell"
    elif path.endswith(".env"):
        kind = "env"
    elif path.startswith("/etc/systemd/system/"):
        kind = "unit"
    else:
        kind = "other"
    print(kind, path, name)
