#!/usr/bin/env python3
"""validate_json — validates a JSON document against a JSON schema with
python3-jsonschema (the draft the schema names), printing every error.

    validate_json.py SCHEMA DOCUMENT
Exit 0 valid, 1 invalid, 2 unreadable.
"""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        with open(sys.argv[1]) as fh:
            schema = json.load(fh)
        with open(sys.argv[2]) as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as e:
        print(f"unreadable: {e}", file=sys.stderr)
        sys.exit(2)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print(f"{'/'.join(str(p) for p in e.path)}: {e.message}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
