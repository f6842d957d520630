#!/usr/bin/env python3
"""Print the release manifest Helm v4's engine (helm-python-sdk 0.2.2) renders for a chart.

    oracle_render.py CHART_DIR RELEASE NAMESPACE [VALUES_FILE]

The same call as `helm template` / `helm install --dry-run=client`: Config().install(...,
dry_run='client')['manifest']. Values are read with the SDK's values_from_yaml (Helm's own YAML
decoding), as shared/conformance/helm/oracle.py does. Errors go to stderr, exit status 1.
"""
import os
import sys

import helm_python as helm


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    chart, release, namespace = argv[:3]
    values = {}
    if len(argv) == 4:
        with open(argv[3], encoding="utf-8") as f:
            values = helm.values_from_yaml(f.read())
    try:
        with helm.Config(namespace=namespace) as cfg:
            rel = cfg.install(os.path.abspath(chart), release, values, dry_run="client",
                              namespace=namespace)
    except Exception as e:  # HelmError and its subclasses
        sys.stderr.write("Error: %s\n" % e)
        return 1
    sys.stdout.buffer.write(rel["manifest"].encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
